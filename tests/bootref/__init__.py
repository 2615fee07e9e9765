"""Tests of the C reference verifier in bootloader-ref/ (built with make, driven as a CLI)."""
