"""Structure-aware differential generation (docs/processing-model.md section 12).

``strategies`` builds correctly signed SUIT envelopes from the grammar of
draft-ietf-suit-manifest and the processing model; ``harness`` runs each through the
Python verifier and the C verifier in process and compares verdict and reason;
``oracle`` is a small independent reading of the model's required checks (section 6) and
structure rules (sections 3, 8, 9) over the generated structure, used to flag envelopes
that a verifier accepts although the model says to refuse them.
"""
