"""The Python processor follows docs/processing-model.md: one test per rule and per class of
correctly signed manifest that the Python and C verifiers once judged differently.

Each manifest is built by hand from the data model and signed, so the signature is valid
and only the processing rules decide. The same classes are tested against the C verifier
in tests/bootref/test_processing_model.py.
"""

from __future__ import annotations

from collections.abc import Sequence

from fwsign.suit.builder import assemble_envelope
from fwsign.suit.codepoints import Command as C
from fwsign.suit.codepoints import Parameter as P
from fwsign.suit.encode import encode_sequence
from fwsign.suit.model import Cmd, CommandSequence, Common, Digest, Manifest, Parameters, TryEach
from fwsign.verify import Policy, verify_envelope

from .conftest import KEYS

VID = bytes.fromhex("fa6b4a53d5ad5fdfbe9de663e4d41ffe")
CID = bytes.fromhex("1492af1425695e48bf429b2d51f2ab45")
OTHER_CID = bytes.fromhex("3c664d0a3abc515aac84aa76d766df08")
IMAGE = b"firmware image " * 64


def _digest(data: bytes) -> Digest:
    import hashlib

    return Digest(-16, hashlib.sha256(data).digest())


def seq(*cmds: tuple[int, object]) -> CommandSequence:
    return CommandSequence(tuple(Cmd(int(code), arg) for code, arg in cmds))  # type: ignore[arg-type]


def params(**kw: object) -> Parameters:
    names = {"vendor": P.VENDOR_IDENTIFIER, "cls": P.CLASS_IDENTIFIER, "digest": P.IMAGE_DIGEST,
             "size": P.IMAGE_SIZE, "uri": P.URI, "soft": P.SOFT_FAILURE, "slot": P.COMPONENT_SLOT}
    return Parameters(tuple(sorted((int(names[k]), v) for k, v in kw.items())))  # type: ignore[misc]


IDENTITY = (
    (C.DIRECTIVE_OVERRIDE_PARAMETERS, params(vendor=VID, cls=CID, digest=_digest(IMAGE), size=len(IMAGE))),
    (C.CONDITION_VENDOR_IDENTIFIER, 15),
    (C.CONDITION_CLASS_IDENTIFIER, 15),
)
VALIDATE = seq((C.CONDITION_IMAGE_MATCH, 15))
INVOKE = seq((C.DIRECTIVE_INVOKE, 2))


def manifest(shared: CommandSequence | None, *, validate: CommandSequence | None = VALIDATE,
             invoke: CommandSequence | None = INVOKE, install: CommandSequence | None = None) -> Manifest:
    return Manifest(1, Common(((b"\x00",),), shared), validate=validate, invoke=invoke, install=install)


def verdict(m: Manifest, *, image: bytes | None = IMAGE, signers: Sequence[object] | None = None,
            cls: bytes | None = CID, keys: tuple[str, ...] = ("ed25519",)) -> str:
    env = assemble_envelope(m, signers if signers is not None else [KEYS["ed25519"].signer()])  # type: ignore[arg-type]
    policy = Policy(keys=tuple(KEYS[k].trusted for k in keys), vendor_id=VID, class_id=cls)
    report = verify_envelope(env, policy, image)
    return "ok" if report.valid else str(report.reason)


def test_baseline_manifest_is_accepted() -> None:
    assert verdict(manifest(seq(*IDENTITY))) == "ok"


# -- required checks (model section 6) ---------------------------------------------------


def test_missing_vendor_check_is_refused() -> None:
    assert verdict(manifest(seq(IDENTITY[0], IDENTITY[2]))) == "missing-check"


def test_missing_class_check_is_refused() -> None:
    assert verdict(manifest(seq(IDENTITY[0], IDENTITY[1]))) == "missing-check"


def test_missing_validate_sequence_is_refused() -> None:
    assert verdict(manifest(seq(*IDENTITY), validate=None)) == "missing-check"


def test_validate_without_image_match_is_refused() -> None:
    assert verdict(manifest(seq(*IDENTITY), validate=seq((C.CONDITION_VENDOR_IDENTIFIER, 15)))) == "missing-check"


def test_invoke_of_a_component_written_after_its_match_is_refused() -> None:
    # validate matches, then load fetches over it and invoke runs the unchecked bytes
    m = Manifest(1, Common(((b"\x00",),), seq(*IDENTITY)), validate=VALIDATE,
                 load=seq((C.DIRECTIVE_OVERRIDE_PARAMETERS, params(uri="https://x.example/other")),
                          (C.DIRECTIVE_FETCH, 2)),
                 invoke=INVOKE)
    assert verdict(m) == "missing-check"


def test_identity_checks_made_without_expected_ids_count_as_made() -> None:
    assert verdict(manifest(seq(*IDENTITY)), cls=None) == "ok"


# -- try-each (model section 8) ---------------------------------------------------------


def _try_each(*options: CommandSequence, nil: bool = False) -> tuple[int, TryEach]:
    return (C.DIRECTIVE_TRY_EACH, TryEach(tuple(options), nil))


def test_try_each_with_an_empty_option_is_malformed() -> None:
    shared = seq(*IDENTITY, _try_each(CommandSequence(()), seq((C.CONDITION_ABORT, 15))))
    env = assemble_envelope(manifest(shared), [KEYS["ed25519"].signer()])
    assert encode_sequence(CommandSequence(())) == b"\x80"
    policy = Policy(keys=(KEYS["ed25519"].trusted,), vendor_id=VID, class_id=CID)
    report = verify_envelope(env, policy, IMAGE)
    assert report.reason == "malformed" and "empty" in str(report.error)


def _sign_raw_manifest(manifest_bytes: bytes) -> bytes:
    """Envelope around manifest bytes the encoder would not produce, correctly signed."""
    from fwsign import cose
    from fwsign.cbor import dumps_tagged
    from fwsign.suit.builder import manifest_digest
    from fwsign.suit.encode import encode_digest

    digest = manifest_digest(manifest_bytes)
    block = cose.build(KEYS["ed25519"].signer(), encode_digest(digest))
    from fwsign.cbor import dumps

    wrapper = dumps((encode_digest(digest), block))
    body = {2: wrapper, 3: manifest_bytes}
    return dumps_tagged(107, body)


def test_try_each_first_option_fails_later_one_passes() -> None:
    first = seq((C.DIRECTIVE_OVERRIDE_PARAMETERS, params(cls=OTHER_CID)), (C.CONDITION_CLASS_IDENTIFIER, 15))
    second = seq((C.DIRECTIVE_OVERRIDE_PARAMETERS, params(cls=CID)), (C.CONDITION_CLASS_IDENTIFIER, 15))
    shared = seq(IDENTITY[0], IDENTITY[1], _try_each(first, second))
    assert verdict(manifest(shared)) == "ok"


def test_try_each_all_options_fail_gives_the_last_failure() -> None:
    first = seq((C.DIRECTIVE_OVERRIDE_PARAMETERS, params(cls=OTHER_CID)), (C.CONDITION_CLASS_IDENTIFIER, 15))
    second = seq((C.CONDITION_ABORT, 15))
    shared = seq(*IDENTITY, _try_each(first, second))
    assert verdict(manifest(shared)) == "abort"


def test_try_each_option_that_only_sets_parameters_does_not_make_a_check() -> None:
    # the class check lives in the first option; the second only sets parameters: on a
    # device of another class the second is taken and no class check was made
    first = seq((C.CONDITION_CLASS_IDENTIFIER, 15))
    second = seq((C.DIRECTIVE_OVERRIDE_PARAMETERS, params(uri="#x")))
    shared = seq(IDENTITY[0], IDENTITY[1], _try_each(first, second))
    assert verdict(manifest(shared), cls=OTHER_CID) == "missing-check"
    assert verdict(manifest(shared), cls=CID) == "ok"


def test_try_each_nil_fallback_does_not_make_the_class_check() -> None:
    shared = seq(IDENTITY[0], IDENTITY[1], _try_each(seq((C.CONDITION_CLASS_IDENTIFIER, 15)),
                                                    seq((C.CONDITION_ABORT, 15)), nil=True))
    assert verdict(manifest(shared), cls=OTHER_CID) == "missing-check"


def test_soft_failure_false_inside_try_each_fails_hard() -> None:
    first = seq((C.DIRECTIVE_OVERRIDE_PARAMETERS, params(soft=False, cls=OTHER_CID)), (C.CONDITION_CLASS_IDENTIFIER, 15))
    second = seq((C.CONDITION_CLASS_IDENTIFIER, 15))
    shared = seq(IDENTITY[0], IDENTITY[1], _try_each(first, second))
    assert verdict(manifest(shared)) == "class-mismatch"


def test_soft_failure_at_top_level_aborts() -> None:
    shared = seq((C.DIRECTIVE_OVERRIDE_PARAMETERS, params(soft=True)), *IDENTITY)
    assert verdict(manifest(shared)) == "abort"


def test_condition_abort_at_top_level_is_refused() -> None:
    assert verdict(manifest(seq(*IDENTITY, (C.CONDITION_ABORT, 15)))) == "abort"


def test_run_sequence_with_soft_failure_halts_without_failing() -> None:
    inner = seq((C.DIRECTIVE_OVERRIDE_PARAMETERS, params(soft=True)), (C.CONDITION_ABORT, 15),
                (C.DIRECTIVE_OVERRIDE_PARAMETERS, params(digest=_digest(b"other"))))
    shared = seq(*IDENTITY, (C.DIRECTIVE_RUN_SEQUENCE, inner))
    assert verdict(manifest(shared)) == "ok"  # the digest override after the abort never ran


# -- set- against override-parameters --------------------------------------------------------


def test_set_parameters_does_not_overwrite_but_override_does() -> None:
    keep = seq(*IDENTITY, (C.DIRECTIVE_SET_PARAMETERS, params(digest=_digest(b"other"))))
    assert verdict(manifest(keep)) == "ok"
    replace = seq(*IDENTITY, (C.DIRECTIVE_OVERRIDE_PARAMETERS, params(digest=_digest(b"other"))))
    assert verdict(manifest(replace)) == "image-mismatch"


# -- authentication (model section 5) ---------------------------------------------------


def test_block_with_a_kid_naming_no_trusted_key_is_ignored() -> None:
    signers = [KEYS["p256"].signer(), KEYS["ed25519"].signer()]
    assert verdict(manifest(seq(*IDENTITY)), signers=signers, keys=("ed25519",)) == "ok"


def test_block_naming_a_trusted_key_that_does_not_verify_is_refused() -> None:
    from fwsign.suit.decode import decode_envelope
    from fwsign.verify import Policy as Pol

    env = assemble_envelope(manifest(seq(*IDENTITY)), [KEYS["ed25519"].signer(), KEYS["p256"].signer()])
    # corrupt the last byte of the P-256 signature: its kid names a trusted key
    decoded = decode_envelope(env)
    sig = decoded.auth.blocks[1].message.tag
    bad = env.replace(sig, sig[:-1] + bytes([sig[-1] ^ 1]))
    policy = Pol(keys=(KEYS["ed25519"].trusted, KEYS["p256"].trusted), vendor_id=VID, class_id=CID)
    assert verify_envelope(bad, policy, IMAGE).reason == "signature-invalid"


# -- canonical encoding (model section 3) -----------------------------------------------------


def test_manifest_map_out_of_canonical_order_is_refused() -> None:
    from fwsign.cbor import dumps
    from fwsign.suit.encode import encode_manifest

    raw = encode_manifest(manifest(seq(*IDENTITY)))
    # swap two members of the manifest map by hand: sequence-number after common
    from fwsign.cbor import loads

    value = loads(raw)
    items = list(value.items())  # type: ignore[union-attr]
    items[1], items[2] = items[2], items[1]
    head = bytes([0xA0 | len(items)])
    swapped = head + b"".join(dumps(k) + dumps(v) for k, v in items)
    policy = Policy(keys=(KEYS["ed25519"].trusted,), vendor_id=VID, class_id=CID)
    assert verify_envelope(_sign_raw_manifest(swapped), policy, IMAGE).reason == "malformed"


# -- delegation scope and integrated payloads (model section 9) -------------------------------


def test_integrated_payload_that_differs_from_the_given_image_is_refused() -> None:
    m = manifest(seq(*IDENTITY), install=seq((C.DIRECTIVE_OVERRIDE_PARAMETERS, params(uri="#fw")),
                                               (C.DIRECTIVE_FETCH, 2), (C.CONDITION_IMAGE_MATCH, 15)))
    env = assemble_envelope(m, [KEYS["ed25519"].signer()], payloads=[("#fw", IMAGE)])
    policy = Policy(keys=(KEYS["ed25519"].trusted,), vendor_id=VID, class_id=CID)
    assert verify_envelope(env, policy).valid
    assert verify_envelope(env, policy, IMAGE).valid
    assert verify_envelope(env, policy, b"another image").reason == "image-mismatch"
    # streamed: compared chunk by chunk, a longer or shorter stream is not the payload
    assert verify_envelope(env, policy, iter([IMAGE[:100], IMAGE[100:]])).valid
    assert verify_envelope(env, policy, iter([IMAGE, b"x"])).reason == "image-mismatch"
    assert verify_envelope(env, policy, iter([IMAGE[:-1]])).reason == "image-mismatch"


def test_unreferenced_integrated_payload_is_refused() -> None:
    env = assemble_envelope(manifest(seq(*IDENTITY)), [KEYS["ed25519"].signer()], payloads=[("#extra", b"x")])
    policy = Policy(keys=(KEYS["ed25519"].trusted,), vendor_id=VID, class_id=CID)
    assert verify_envelope(env, policy, IMAGE).reason == "malformed"


# -- when structure is judged (model section 2) ----------------------------------------------


def test_try_each_with_one_option_and_nil_is_malformed() -> None:
    shared = seq(*IDENTITY, _try_each(seq((C.CONDITION_VENDOR_IDENTIFIER, 15)), nil=True))
    assert verdict(manifest(shared)) == "malformed"


def test_option_after_a_completed_one_is_only_type_checked() -> None:
    # the second option is empty (malformed), but it never runs: a device never reads it
    shared = seq(*IDENTITY, _try_each(seq((C.CONDITION_VENDOR_IDENTIFIER, 15)), CommandSequence(())))
    assert verdict(manifest(shared)) == "ok"
    # the same option, reached because the first failed softly, is refused
    shared = seq(*IDENTITY, _try_each(seq((C.CONDITION_ABORT, 15)), CommandSequence(())))
    assert verdict(manifest(shared)) == "malformed"


def test_rollback_is_judged_before_a_malformed_sequence() -> None:
    from fwsign.limits import DEFAULT_LIMITS

    bad = manifest(seq(*IDENTITY, _try_each(CommandSequence(()), seq((C.CONDITION_ABORT, 15)))))
    env = assemble_envelope(bad, [KEYS["ed25519"].signer()])
    policy = Policy(keys=(KEYS["ed25519"].trusted,), vendor_id=VID, class_id=CID, min_sequence=2,
                    limits=DEFAULT_LIMITS)
    assert verify_envelope(env, policy, IMAGE).reason == "rollback"


def test_manifest_is_parsed_only_after_authentication() -> None:
    # a manifest with an unknown member, signed by a key nobody trusts: the signature is
    # refused before the manifest is read
    from fwsign.cbor import dumps, loads
    from fwsign.suit.encode import encode_manifest

    value = loads(encode_manifest(manifest(seq(*IDENTITY))))
    extended = dumps({**value, 99: 1})  # type: ignore[dict-item]
    env = _sign_raw_manifest(extended)
    assert verify_envelope(env, Policy(keys=(KEYS["p256"].trusted,))).reason == "no-trusted-key"
    assert verify_envelope(env, Policy(keys=(KEYS["ed25519"].trusted,))).reason == "unsupported"


def test_set_parameters_does_not_change_soft_failure_once_set() -> None:
    # override sets soft-failure false; a later set-parameters of true leaves it false, so
    # the failed class check fails the try-each instead of moving on
    first = seq((C.DIRECTIVE_OVERRIDE_PARAMETERS, params(soft=False)),
                (C.DIRECTIVE_SET_PARAMETERS, params(soft=True)),
                (C.DIRECTIVE_OVERRIDE_PARAMETERS, params(cls=OTHER_CID)), (C.CONDITION_CLASS_IDENTIFIER, 15))
    second = seq((C.DIRECTIVE_OVERRIDE_PARAMETERS, params(cls=CID)), (C.CONDITION_CLASS_IDENTIFIER, 15))
    shared = seq(IDENTITY[0], IDENTITY[1], _try_each(first, second))
    assert verdict(manifest(shared)) == "class-mismatch"
    # the option's default (true) does not count as set: set-parameters may set it
    first = seq((C.DIRECTIVE_SET_PARAMETERS, params(soft=False)),
                (C.DIRECTIVE_OVERRIDE_PARAMETERS, params(cls=OTHER_CID)), (C.CONDITION_CLASS_IDENTIFIER, 15))
    shared = seq(IDENTITY[0], IDENTITY[1], _try_each(first, second))
    assert verdict(manifest(shared)) == "class-mismatch"


# -- inspect reads the processor's trace -----------------------------------------------------


def test_inspect_asserts_come_from_the_processor() -> None:
    from fwsign.suit.decode import decode_envelope
    from fwsign.suit.render import asserts_json

    from .conftest import vector

    a = asserts_json(decode_envelope(vector("example3.signed.hex")))
    assert a["vendor-id"] == ["fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe"]
    assert a["processing"] == "required checks made"
    comp = a["components"][0]  # type: ignore[index]
    # a host that knows no slot takes the first option: slot A's image and URI
    assert comp["image"] == [{"digest": {"algorithm": "sha-256", "value": "00112233445566778899aabbccddeeff"
                                          "0123456789abcdeffedcba9876543210"}, "size": 34768, "slot": 0}]
    assert comp["uri"] == ["http://example.com/file1.bin"]
    bad = assemble_envelope(manifest(seq(IDENTITY[0], IDENTITY[1])), [KEYS["ed25519"].signer()])
    assert asserts_json(decode_envelope(bad))["processing"].startswith("missing-check")  # type: ignore[union-attr]


def test_component_index_list_acts_in_ascending_order_once() -> None:
    from fwsign.suit.processor import DeviceModel, Processor, manifest_sequences

    two = Manifest(1, Common(((b"\x00",), (b"\x01",)), seq(*IDENTITY)), validate=VALIDATE,
                   install=seq((C.DIRECTIVE_SET_COMPONENT_INDEX, True),
                               (C.DIRECTIVE_OVERRIDE_PARAMETERS, params(uri="https://x.example/fw",
                                                                        digest=_digest(IMAGE))),
                               (C.DIRECTIVE_SET_COMPONENT_INDEX, (1, 0, 1)), (C.DIRECTIVE_FETCH, 2),
                               (C.DIRECTIVE_SET_COMPONENT_INDEX, 0), (C.CONDITION_IMAGE_MATCH, 15),
                               (C.DIRECTIVE_SET_COMPONENT_INDEX, 1), (C.CONDITION_IMAGE_MATCH, 15)))
    proc = Processor(two, DeviceModel())
    proc.run(manifest_sequences(two, {}))
    fetches = [o.component for o in proc.analysis().of(int(C.DIRECTIVE_FETCH))]
    assert fetches == [0, 1]


# -- delegation scope and severed members (model section 9) ---------------------------------


def _delegated(shared: CommandSequence, policy_class: bytes | None) -> str:
    from fwsign.delegation import Scope, attach

    from .test_delegation import ANCHOR, NOW, ONLINE, _cwt

    m = manifest(shared)
    env = assemble_envelope(m, [_online_signer(ONLINE)])
    env = attach(env, [[_cwt(ANCHOR.private, ONLINE, scope=Scope(VID, frozenset({CID})))]])
    report = verify_envelope(env, Policy(keys=(ANCHOR.trusted,), vendor_id=VID, class_id=policy_class, now=NOW),
                             IMAGE)
    return "ok" if report.valid else str(report.reason)


def _online_signer(key: object) -> object:
    from fwsign.keys import make_signer

    return make_signer(key)  # type: ignore[arg-type]


def test_delegate_class_check_hidden_in_try_each_with_an_empty_alternative_is_refused() -> None:
    # a delegate scoped to class CID signs for OTHER_CID, hiding the class check in a
    # try-each whose second option does nothing but set a parameter
    hidden = seq((C.DIRECTIVE_OVERRIDE_PARAMETERS, params(vendor=VID, cls=OTHER_CID, digest=_digest(IMAGE),
                                                          size=len(IMAGE))),
                 (C.CONDITION_VENDOR_IDENTIFIER, 15),
                 _try_each(seq((C.CONDITION_CLASS_IDENTIFIER, 15)),
                           seq((C.DIRECTIVE_OVERRIDE_PARAMETERS, params(uri="#x")))))
    # on a device of class OTHER_CID the class check runs and names a class outside the scope
    assert _delegated(hidden, OTHER_CID) == "delegation-scope"
    # on a device of another class the check fails softly and no class check was made
    assert _delegated(hidden, CID) == "missing-check"
    # a host that does not know the class skips the check, which still names OTHER_CID
    assert _delegated(hidden, None) == "delegation-scope"


def test_delegate_class_check_behind_soft_failure_is_refused() -> None:
    soft = seq((C.DIRECTIVE_OVERRIDE_PARAMETERS, params(vendor=VID, cls=OTHER_CID, digest=_digest(IMAGE),
                                                        size=len(IMAGE))),
               (C.CONDITION_VENDOR_IDENTIFIER, 15),
               (C.DIRECTIVE_RUN_SEQUENCE, seq((C.DIRECTIVE_OVERRIDE_PARAMETERS, params(soft=True)),
                                              (C.CONDITION_CLASS_IDENTIFIER, 15))))
    assert _delegated(soft, CID) == "missing-check"
    assert _delegated(soft, OTHER_CID) == "delegation-scope"


def test_severed_install_absent_is_skipped_on_a_host_and_refused_on_a_device() -> None:
    from fwsign.suit.builder import manifest_digest
    from fwsign.suit.encode import encode_sequence
    from fwsign.suit.processor import DeviceModel, Processor, manifest_sequences

    install = seq((C.DIRECTIVE_OVERRIDE_PARAMETERS, params(uri="https://x.example/fw")), (C.DIRECTIVE_FETCH, 2),
                  (C.CONDITION_IMAGE_MATCH, 15))
    severed = Manifest(1, Common(((b"\x00",),), seq(*IDENTITY)), validate=VALIDATE, invoke=INVOKE,
                       install=manifest_digest(encode_sequence(install)))
    env = assemble_envelope(severed, [KEYS["ed25519"].signer()])  # install member left out
    report = verify_envelope(env, Policy(keys=(KEYS["ed25519"].trusted,), vendor_id=VID, class_id=CID), IMAGE)
    assert report.valid and report.analysis is not None and report.analysis.missing == ("manifest.install",)
    device = Processor(severed, DeviceModel(vendor_id=VID, class_id=CID, host=False))
    import pytest

    with pytest.raises(Exception) as info:
        device.run(manifest_sequences(severed, {}))
    assert getattr(info.value, "reason", "") == "severed-member-missing"


def test_image_read_after_the_run_gives_the_same_verdicts_as_reading_it_first() -> None:
    """verify streams the image after the sequences have run, taking each comparison to
    pass and running again with the real contents when one does not: every outcome is the
    one a run with the contents known from the start gives."""
    from fwsign.suit.processor import DeviceModel, Processor, manifest_sequences
    from fwsign.verify import image_facts

    first = seq((C.DIRECTIVE_OVERRIDE_PARAMETERS, params(digest=_digest(b"slot A"), size=6)),
                (C.CONDITION_IMAGE_MATCH, 15))
    second = seq((C.DIRECTIVE_OVERRIDE_PARAMETERS, params(digest=_digest(IMAGE), size=len(IMAGE))),
                 (C.CONDITION_IMAGE_MATCH, 15))
    ab = manifest(seq(*IDENTITY, _try_each(first, second)))
    for image, want in ((IMAGE, "ok"), (b"slot A", "ok"), (b"other", "image-mismatch")):
        assert verdict(ab, image=image) == want
        facts = image_facts(image, {-16})
        proc = Processor(ab, DeviceModel(vendor_id=VID, class_id=CID, images=((0, facts),), identified=(0,)))
        try:
            proc.run(manifest_sequences(ab, {}))
            direct = "ok"
        except Exception as exc:
            direct = str(getattr(exc, "reason", exc))
        assert direct == want
