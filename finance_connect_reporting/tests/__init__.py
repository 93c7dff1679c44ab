from . import test_feed_pull, test_feed_push, test_feed_totals
from . import test_feed_text, test_feed_token_trust, test_feed_tour
from . import test_trust_feeds
from . import test_feed_metrics
from . import test_feed_neutralize, test_feed_retention
from . import test_feed_sla
from . import test_feed_tier

# ORM-free tests of lib/
from . import test_reporting_lib
