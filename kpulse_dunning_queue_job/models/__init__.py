from . import kpulse_dunning_send
