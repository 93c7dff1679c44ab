from . import controllers, http_statics, models, wizards
