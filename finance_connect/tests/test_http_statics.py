"""The map of static folders is built by one thread at a time (see http_statics)."""

import threading
import time

from odoo import http
from odoo.tests import BaseCase, tagged


@tagged("post_install", "-at_install")
class TestHttpStatics(BaseCase):
    def test_manifests_are_read_by_one_thread_at_a_time(self):
        """Threads asking a fresh application for its static folders at once
        (the first requests of a browser) never read manifests concurrently,
        and all get the same map."""
        inside = []
        most = []
        read = http.get_manifest

        def get_manifest(module, mod_path=None):
            inside.append(module)
            most.append(len(inside))
            time.sleep(0.001)  # leave the other threads time to come in
            inside.remove(module)
            return read(module, mod_path)

        self.patch(http, "get_manifest", get_manifest)
        app = http.Application()
        barrier = threading.Barrier(4)
        results = []

        def first_request():
            barrier.wait()
            results.append(app.statics)

        threads = [threading.Thread(target=first_request) for _i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(max(most), 1)
        self.assertEqual(len(results), 4)
        self.assertTrue(all(result is results[0] for result in results))
        self.assertIn("finance_connect", results[0])
        self.assertIn("web", results[0])
