from . import test_trust_data
from . import test_public_methods
