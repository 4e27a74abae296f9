from . import kpulse_dunning_create
