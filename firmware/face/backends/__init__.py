"""Face backends; the TFLite runtimes are imported only inside these modules."""
