"""The pull endpoint's answer contract (finance_connect_bank/lib/pull.py), without Odoo."""

import base64
import hashlib
import json
from datetime import date

from odoo.addons.finance_connect_bank.lib import pull
from odoo.tests import BaseCase, tagged

JSON = {"Content-Type": "application/json; charset=utf-8"}


@tagged("post_install", "-at_install")
class TestPullAnswer(BaseCase):
    def test_json_answer_gives_files_keys_and_cursor(self):
        body = json.dumps(
            {
                "files": [
                    {
                        "id": "f-1",
                        "name": "a.xml",
                        "content_base64": base64.b64encode(b"<a/>").decode(),
                    },
                    {"name": "dir/b.sta", "content": ":20:X\n"},
                ],
                "next_cursor": 42,
                "has_more": True,
            }
        ).encode()
        answer = pull.parse_answer(200, JSON, body)
        first, second = answer.files
        assert (first.key, first.name, first.content, first.file_id) == (
            "pull:id:f-1",
            "a.xml",
            b"<a/>",
            "f-1",
        )
        assert second.key == "file:" + hashlib.sha256(b":20:X\n").hexdigest()
        assert second.name == "b.sta"  # no folders in a file name
        assert (answer.next_cursor, answer.has_more) == ("42", True)

    def test_raw_answer_is_one_file_identified_by_header_or_etag_or_hash(self):
        headers = {
            "content-type": "application/xml",
            "ETag": 'W/"abc"',
            "Content-Disposition": 'attachment; filename="stmt 1.xml"',
            "X-Next-Cursor": "c2",
            "X-Next-Date": "2024-05-02",
        }
        answer = pull.parse_answer(200, headers, b"<Document/>", "statements")
        (pulled,) = answer.files
        assert (pulled.key, pulled.name) == ("pull:etag:abc", "stmt 1.xml")
        assert (answer.next_cursor, answer.next_date) == ("c2", date(2024, 5, 2))
        with_id = pull.parse_answer(200, dict(headers, **{"X-File-Id": "77"}), b"<Document/>")
        assert with_id.files[0].key == "pull:id:77"
        bare = pull.parse_answer(200, {"Content-Type": "text/plain"}, b":20:1\n", "statements")
        assert bare.files[0].key.startswith("file:")
        assert bare.files[0].name == "statements"

    def test_no_content_is_nothing_new_but_may_move_the_cursor(self):
        answer = pull.parse_answer(204, {"X-Next-Cursor": "c9"}, b"")
        assert (answer.files, answer.next_cursor, answer.has_more) == ([], "c9", False)
        assert pull.parse_answer(200, JSON, b'{"files": []}').next_cursor is None

    def test_malformed_answers_are_refused_with_the_reason(self):
        for body, error in [
            (b"{not json", "not valid JSON"),
            (b'{"items": []}', 'no "files" list'),
            (b'{"files": [{"id": "x"}]}', "files[0] has neither content_base64 nor content"),
            (b'{"files": [{"content_base64": "@@@"}]}', "files[0].content_base64 is not base64"),
            (b'{"files": [], "next_cursor": ""}', '"next_cursor" is empty'),
            (b'{"files": [], "next_date": "May 2"}', "is not a date"),
            (b'{"files": [], "has_more": "yes"}', '"has_more" must be true or false'),
        ]:
            with self.subTest(body=body, error=error):
                with self.assertRaises(pull.PullAnswerError) as info:
                    pull.parse_answer(200, JSON, body)
                assert error in str(info.exception)
