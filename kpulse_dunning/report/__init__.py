from . import kpulse_dunning_letter
