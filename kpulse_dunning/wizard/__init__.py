from . import kpulse_dunning_create
from . import kpulse_dunning_template_preview
