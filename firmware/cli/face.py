"""``fieldcheck-device face enroll|verify|eval|record|bench``: the device face pipeline as tools."""

import argparse
import csv
import dataclasses
import json
import logging
import sys
from pathlib import Path
from typing import Any

from firmware.camera.backends.replay import load_rgb
from firmware.cli import identity
from firmware.core.verdict import Outcome
from firmware.errors import VerifyError
from firmware.face import manifest, matcher, template_store
from firmware.face.backends import replay
from firmware.face.backends.tflite import Config, TfliteFaceEngine
from firmware.face.template_store import KeySource, TemplateStore
from firmware.store.identity import load_identity
from firmware.tools import face_bench as bench
from firmware.tools import face_eval as evaluation
from firmware.tools import roc_plot as plot

logger = logging.getLogger(__name__)


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``face`` command and its sub-commands."""
    parser = sub.add_parser("face", help="enrol, verify, evaluate and benchmark face checks")
    cmds = parser.add_subparsers(dest="face_command", required=True)

    enroll = _with_template(_with_engine(cmds.add_parser(
        "enroll", help="build a template from photos and store it encrypted")))
    enroll.add_argument("images", nargs="+", type=Path)
    enroll.add_argument("--out", type=Path, default=None,
                        help=f"template file (default: DATA_DIR/{template_store.TEMPLATE_FILE})")
    enroll.set_defaults(func=_enroll)

    verify = _with_template(_with_engine(cmds.add_parser(
        "verify", help="verify photos (one burst) against a template; exit 0 match, 1 otherwise")))
    verify.add_argument("--template", type=Path, default=None,
                        help=f"template file (default: DATA_DIR/{template_store.TEMPLATE_FILE})")
    verify.add_argument("images", nargs="+", type=Path)
    verify.set_defaults(func=_verify)

    ev = _with_engine(cmds.add_parser("eval", help="accuracy figures on labelled pairs"))
    ev.add_argument("--pairs", type=Path, required=True, help="CSV: file_x,file_y,decision[,group]")
    ev.add_argument("--images", type=Path, required=True, help="folder the file names are in")
    ev.add_argument("--json", action="store_true", help="per-pair distances as JSON lines too")
    ev.add_argument("--plot", type=Path, help="write a ROC plot (PNG) here")
    ev.add_argument("--no-gates", action="store_true",
                    help="embed every detected face even when a quality gate fails")
    ev.set_defaults(func=_eval)

    rec = _with_engine(cmds.add_parser("record", help="write a replay-backend recording"))
    rec.add_argument("images", nargs="+", type=Path)
    rec.add_argument("--out", type=Path, required=True)
    rec.set_defaults(func=_record)

    be = _with_engine(cmds.add_parser("bench", help="latency, memory, size and accuracy as JSON"))
    be.add_argument("--images", type=Path, help="sample photos (default: the checkout's cache)")
    be.add_argument("--repeats", type=int, default=5)
    be.add_argument("--reference", type=Path,
                    help="dlib reference script (default: the checkout's test reference)")
    be.set_defaults(func=_bench)


def _with_engine(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--models", type=Path, default=None,
                        help="model folder with manifest.json (default: checkout or unit folder)")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads per model")
    return parser


def _with_template(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    identity.add_data_dir_arguments(parser)
    parser.add_argument("--key-file", type=Path, default=None,
                        help=f"template key file (default: DATA_DIR/{template_store.KEY_FILE}; "
                        "made 0600 at the first enrolment)")
    parser.add_argument("--key-credential", default="", metavar="NAME",
                        help="take the key from the systemd credential NAME instead "
                        "($CREDENTIALS_DIRECTORY/NAME)")
    parser.add_argument("--device-id", default=None,
                        help="bind the template to this device id (default: the unit's identity "
                        "in DATA_DIR)")
    return parser


def template_store_from(args: argparse.Namespace, path: Path | None) -> TemplateStore:
    """The encrypted template store the command's arguments name."""
    data_dir = identity.data_dir_of(args)
    device_id = args.device_id or load_identity(data_dir).device_id
    credential = None
    if args.key_credential:
        credential = template_store.credential_path(args.key_credential)
        if credential is None:
            raise VerifyError(f"--key-credential {args.key_credential}: no systemd credentials "
                              "here ($CREDENTIALS_DIRECTORY is unset)",
                              "run inside the service, or use --key-file")
    keys = KeySource(args.key_file or data_dir / template_store.KEY_FILE, credential)
    return TemplateStore(path or data_dir / template_store.TEMPLATE_FILE, keys, device_id)


def engine_from(args: argparse.Namespace) -> TfliteFaceEngine:
    """A started engine for the command's --models/--threads."""
    models = args.models or manifest.default_models_dir()
    engine = TfliteFaceEngine(Config(models_dir=models, num_threads=args.threads))
    engine.start()
    return engine


def _enroll(args: argparse.Namespace) -> int:
    engine = engine_from(args)
    results = [(path, engine.check(load_rgb(path))) for path in args.images]
    for path, result in results:
        if result.embedding is None:
            print(f"{path}: not used ({result.guidance})")
    embeddings = [r.embedding for _, r in results if r.embedding is not None]
    template = matcher.build(embeddings, engine.model_sha256, engine.threshold)
    store = template_store_from(args, args.out)
    store.save(template)
    print(f"enrolled {template.count} image(s), spread {template.spread:.3f} -> {store.path} "
          f"(AES-256-GCM, device {store.device_id}, {store.keys.describe()})")
    return 0


def _verify(args: argparse.Namespace) -> int:
    engine = engine_from(args)
    store = template_store_from(args, args.template)
    template = store.load(engine.model_sha256)
    if template is None:
        raise VerifyError(f"no enrolled template at {store.path}",
                          "enrol the person first: `fieldcheck-device face enroll PHOTOS`")
    verdict = engine.verify([load_rgb(p) for p in args.images], template)
    data = dataclasses.asdict(verdict)
    data["score"] = verdict.score
    print(json.dumps(data))
    return 0 if verdict.outcome is Outcome.MATCH else 1


def read_pairs(path: Path) -> list[dict[str, str]]:
    """Rows of a pairs CSV, checked for the required columns."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    needed = {"file_x", "file_y", "decision"}
    if not rows or not needed <= set(rows[0]):
        raise VerifyError(f"{path} needs the columns file_x,file_y,decision[,group]",
                          "fix the CSV header")
    return rows


def _eval(args: argparse.Namespace) -> int:
    engine = engine_from(args)
    rows = read_pairs(args.pairs)
    cache: dict[str, Any] = {}

    def embed(name: str) -> Any:
        if name not in cache:
            frame = load_rgb(args.images / name)
            cache[name] = engine.check_ungated(frame) if args.no_gates else engine.check(frame)
        return cache[name]

    scores = []
    for row in rows:
        x, y = embed(row["file_x"]), embed(row["file_y"])
        usable = x.embedding is not None and y.embedding is not None
        distance = float(((x.embedding - y.embedding) ** 2).sum() ** 0.5) if usable else None
        failed = next((r.guidance for r in (x, y) if r.embedding is None), None)
        scores.append(evaluation.PairScore(
            file_x=row["file_x"], file_y=row["file_y"],
            same=row["decision"].strip().lower() in ("yes", "y", "true", "1", "same"),
            distance=distance, group=row.get("group") or "",
            guidance=failed.value if failed else None))
    _report(scores, engine.threshold, args)
    return 0


def _report(scores: list[evaluation.PairScore], threshold: float, args: argparse.Namespace) -> None:
    if args.json:
        for score in scores:
            print(json.dumps(dataclasses.asdict(score)))
    groups = sorted({s.group for s in scores})
    report: dict[str, Any] = {"threshold": threshold,
                              "all": dataclasses.asdict(evaluation.figures(scores, threshold))}
    if groups != [""]:
        report["groups"] = {
            g: dataclasses.asdict(evaluation.figures([s for s in scores if s.group == g],
                                                     threshold))
            for g in groups
        }
    print(json.dumps(report, indent=None if args.json else 2))
    if args.plot:
        curves = {"all": evaluation.roc(scores)}
        if groups != [""]:
            curves.update({g: evaluation.roc([s for s in scores if s.group == g]) for g in groups})
        plot.roc_png(curves, args.plot, f"ROC, {len(scores)} pairs, threshold {threshold:.3f}")


def _record(args: argparse.Namespace) -> int:
    engine = engine_from(args)
    count = replay.record(engine, (load_rgb(p) for p in args.images), args.out)
    print(f"recorded {count} frame(s) -> {args.out} (contains embeddings; mode 0600)")
    return 0


def _bench(args: argparse.Namespace) -> int:
    models = args.models or manifest.default_models_dir()
    print(json.dumps(bench.run(models, args.images, args.repeats, args.reference), indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m firmware.cli.face ...``: the face commands alone, without the daemon's."""
    from firmware import cli  # the shared error handling and logging set-up

    parser = argparse.ArgumentParser(prog="fieldcheck-device-face")
    sub = parser.add_subparsers(dest="command", required=True)
    register(sub)
    args = parser.parse_args(["face", *(argv if argv is not None else sys.argv[1:])])
    logging.basicConfig(level=logging.WARNING)
    try:
        return int(args.func(args))
    except cli.DeviceError as err:
        print(f"fieldcheck-device face: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
