from . import kpulse_dunning_letter
from . import kpulse_dunning_letter_dispute
from . import kpulse_invoice_pdf
from . import kpulse_customer_statement
from . import kpulse_receivable_aging
from . import kpulse_dunning_analysis
