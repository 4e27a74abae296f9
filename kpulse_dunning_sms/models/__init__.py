from . import kpulse_dunning
from . import kpulse_dunning_level
from . import kpulse_dunning_send
from . import sms_template
