"""fwsign: sign, distribute and verify firmware updates with IETF SUIT manifests."""

__version__ = "0.1.0"
