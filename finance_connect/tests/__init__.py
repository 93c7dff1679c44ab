from . import test_trust_data
