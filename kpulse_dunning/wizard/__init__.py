from . import kpulse_dunning_create
from . import kpulse_dunning_create_courtesy
from . import kpulse_dunning_template_preview
from . import kpulse_dunning_dso_period
from . import kpulse_dunning_dispute_wizard
