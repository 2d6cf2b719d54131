"""The release version, shown by /health, the OpenAPI document and `sohbet --version`."""

VERSION = "0.4.0"
