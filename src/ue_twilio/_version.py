__version__ = "1.0.0"
EXTENSION_NAME = "ue-twilio"
