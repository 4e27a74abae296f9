from . import test_dunning_config
from . import test_dunning_access
from . import test_can_be_dunned
from . import test_dunning_create
from . import test_dunning_escalate
from . import test_dunning_send
from . import test_dunning_letter
from . import test_dunning_ui
