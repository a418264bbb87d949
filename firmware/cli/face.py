"""``fieldcheck-device face enroll|verify|eval|record|bench``: the device face pipeline as tools."""

import argparse
import csv
import dataclasses
import json
import logging
import sys
from pathlib import Path
from typing import Any

from firmware import config
from firmware.app.wiring import template_store_for
from firmware.camera.backends.replay import load_rgb
from firmware.config import DeviceSettings
from firmware.core.verdict import Outcome
from firmware.errors import ConfigError, ConfigProblems, VerifyError
from firmware.face import matcher, template_store
from firmware.face.backends import replay
from firmware.face.backends.tflite import Config, TfliteFaceEngine
from firmware.face.template_store import TemplateStore
from firmware.services.schedule import CheckinSettings
from firmware.store.identity import load_identity
from firmware.tools import face_bench as bench
from firmware.tools import face_eval as evaluation
from firmware.tools import roc_plot as plot
from firmware.tools.progress import Progress

logger = logging.getLogger(__name__)


def register(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Add the ``face`` command and its sub-commands."""
    parser = sub.add_parser("face", help="enrol, verify, evaluate and benchmark face checks")
    cmds = parser.add_subparsers(dest="face_command", required=True)

    enroll = _with_template(_with_engine(cmds.add_parser(
        "enroll", help="build a template from photos and store it encrypted")))
    enroll.add_argument("images", nargs="+", type=Path)
    enroll.add_argument("--out", type=Path, default=None,
                        help="template file (default: [checkin] template_file in DATA_DIR)")
    enroll.set_defaults(func=_enroll)

    verify = _with_template(_with_engine(cmds.add_parser(
        "verify", help="verify photos (one burst) against a template; exit 0 match, 1 otherwise")))
    verify.add_argument("--template", type=Path, default=None,
                        help="template file (default: [checkin] template_file in DATA_DIR)")
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

    cb = cmds.add_parser("checkin-bench", help="check-in stages, liveness cost per frame and "
                         "peak memory on the real models, as JSON")
    cb.add_argument("--models", type=Path, default=None, help="models folder (default: "
                    "the configured one)")
    cb.add_argument("--images", type=Path, help="sample photos (default: the checkout's cache)")
    cb.add_argument("--repeats", type=int, default=3)
    cb.set_defaults(func=_checkin_bench)

    lv = cmds.add_parser("liveness-eval", help="APCER and BPCER (ISO/IEC 30107-3) of the "
                         "liveness checks on synthetic landmark sequences")
    lv.add_argument("--trials", type=int, default=200, help="presentations per kind and noise")
    lv.add_argument("--json", action="store_true", help="one JSON object per row")
    lv.set_defaults(func=_liveness_eval)


def _with_engine(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--config", type=Path, default=None,
                        help="config file whose [face] (models, gates, threshold), [checkin] "
                        f"(template and key paths) and [device] apply; default "
                        f"{config.DEFAULT_PATH} if it exists, else the embedded defaults")
    parser.add_argument("--models", type=Path, default=None,
                        help="model folder with manifest.json (default: [face] models_dir)")
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads per model (default: [face] num_threads)")
    return parser


def _with_template(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="the unit's data directory (default: device.data_dir of the config)")
    parser.add_argument("--key-file", type=Path, default=None,
                        help="template key file (default: [checkin] key_file in DATA_DIR; "
                        "made 0600 at the first enrolment)")
    parser.add_argument("--key-credential", default=None, metavar="NAME",
                        help="take the key from the systemd credential NAME instead "
                        "($CREDENTIALS_DIRECTORY/NAME; default: [checkin] key_credential)")
    parser.add_argument("--device-id", default=None,
                        help="bind the template to this device id (default: the unit's identity "
                        "in DATA_DIR)")
    return parser


def sections(args: argparse.Namespace) -> tuple[DeviceSettings, CheckinSettings, Any]:
    """The [device], [checkin] and [face] sections of the command's config.

    Only these must be valid: a laptop without the camera stack can still run the face tools.
    """
    validation = config.validate(config.chosen_path(args.config))
    needed = ("device", "checkin", "face")
    problems = tuple(p for p in validation.problems if p.where.split(".")[0] in needed)
    if problems:
        raise ConfigProblems(validation.source, problems)
    face = validation.built["face"]
    settings = face.config if face.backend.name == "tflite" else Config()
    return validation.built["device"], validation.built["checkin"], settings


def template_store_from(args: argparse.Namespace, path: Path | None) -> TemplateStore:
    """The configured encrypted template store (the wiring's), with the command's overrides."""
    device, checkin, _ = sections(args)
    data_dir = Path(args.data_dir or device.data_dir)
    device_id = args.device_id or load_identity(data_dir).device_id
    name = checkin.key_credential if args.key_credential is None else args.key_credential
    if name and template_store.credential_path(name) is None:
        raise VerifyError(f"key credential {name}: no systemd credentials here "
                          "($CREDENTIALS_DIRECTORY is unset)",
                          "run inside the service, or use --key-file")
    settings = dataclasses.replace(checkin, key_credential=name,
                                   key_file=args.key_file or checkin.key_file,
                                   template_file=path or checkin.template_file)
    return template_store_for(settings, data_dir, device_id)


def engine_settings(args: argparse.Namespace) -> Config:
    """The configured tflite engine settings with --models/--threads applied."""
    _, _, settings = sections(args)
    overrides: dict[str, Any] = {}
    if args.models is not None:
        overrides["models_dir"] = args.models
    if args.threads is not None:
        overrides["num_threads"] = args.threads
    result: Config = dataclasses.replace(settings, **overrides)
    return result


def engine_from(args: argparse.Namespace) -> TfliteFaceEngine:
    """A started engine for the command's config and overrides."""
    engine = TfliteFaceEngine(engine_settings(args))
    engine.start()
    return engine


def check_output(path: Path | None, flag: str) -> None:
    """Refuse an output path whose folder does not exist before any work is done."""
    if path is not None and not path.absolute().parent.is_dir():
        raise VerifyError(f"{flag} {path}: the folder {path.parent} does not exist",
                          "create it first or choose another path")


def _enroll(args: argparse.Namespace) -> int:
    check_output(args.out, "--out")
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
    """Rows of a pairs CSV, checked for the required columns, at least one pair and a known
    decision on every row (the error names the line), before any image is read."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            header = set(reader.fieldnames or ())
            rows = list(reader)
    except UnicodeDecodeError as err:
        raise VerifyError(f"{path} is not a UTF-8 text CSV", "export it as CSV (UTF-8)") from err
    needed = {"file_x", "file_y", "decision"}
    if not needed <= header:
        raise VerifyError(f"{path} needs the columns file_x,file_y,decision[,group]",
                          "fix the CSV header")
    if not rows:
        raise VerifyError(f"{path} has a header but no pairs", "add one line per image pair")
    for line, row in enumerate(rows, start=2):  # line 1 is the header
        if not row.get("file_x") or not row.get("file_y"):
            raise VerifyError(f"{path} line {line}: file_x and file_y must both name an image",
                              "fill in both file names")
        evaluation.parse_decision(row.get("decision") or "", f"{path} line {line}")
    return rows


def _eval(args: argparse.Namespace) -> int:
    check_output(args.plot, "--plot")
    rows = read_pairs(args.pairs)
    engine = engine_from(args)
    cache: dict[str, Any] = {}

    def embed(name: str) -> Any:
        if name not in cache:
            frame = load_rgb(args.images / name)
            cache[name] = engine.check_ungated(frame) if args.no_gates else engine.check(frame)
        return cache[name]

    bar = Progress(len(rows), "face eval: pairs")
    scores = []
    for done, row in enumerate(rows, start=1):
        scores.append(_score(row, embed(row["file_x"]), embed(row["file_y"])))
        bar.update(done)
    bar.close()
    _report(scores, engine.threshold, args)
    return 0


def _score(row: dict[str, str], x: Any, y: Any) -> evaluation.PairScore:
    usable = x.embedding is not None and y.embedding is not None
    distance = float(((x.embedding - y.embedding) ** 2).sum() ** 0.5) if usable else None
    failed = next((r.guidance for r in (x, y) if r.embedding is None), None)
    unusable = tuple(name for name, r in ((row["file_x"], x), (row["file_y"], y))
                     if r.embedding is None)
    return evaluation.PairScore(
        file_x=row["file_x"], file_y=row["file_y"],
        same=evaluation.parse_decision(row["decision"], "decision"),
        distance=distance, group=row.get("group") or "",
        guidance=failed.value if failed else None, unusable_files=unusable)


def _report(scores: list[evaluation.PairScore], threshold: float, args: argparse.Namespace) -> None:
    if args.json:
        for score in scores:
            print(json.dumps(dataclasses.asdict(score)))
    groups = sorted({s.group for s in scores})
    overall = evaluation.figures(scores, threshold)
    report: dict[str, Any] = {"threshold": threshold, "all": dataclasses.asdict(overall)}
    _warn("all pairs", overall)
    if groups != [""]:
        report["groups"] = {}
        for g in groups:
            result = evaluation.figures([s for s in scores if s.group == g], threshold)
            report["groups"][g] = dataclasses.asdict(result)
            _warn(f"group {g!r}", result)
    print(json.dumps(report, indent=None if args.json else 2))
    if args.plot:
        curves = {"all": evaluation.roc(scores)}
        if groups != [""]:
            curves.update({g: evaluation.roc([s for s in scores if s.group == g]) for g in groups})
        plot.roc_png(curves, args.plot, evaluation.plot_title(overall, threshold))


def _warn(what: str, result: evaluation.Figures) -> None:
    for text in result.warnings:
        logger.warning("%s: %s", what, text)


def _record(args: argparse.Namespace) -> int:
    check_output(args.out, "--out")
    engine = engine_from(args)
    count = replay.record(engine, (load_rgb(p) for p in args.images), args.out)
    print(f"recorded {count} frame(s) -> {args.out} (contains embeddings; mode 0600)")
    return 0


def _bench(args: argparse.Namespace) -> int:
    models = engine_settings(args).models_dir
    print(json.dumps(bench.run(models, args.images, args.repeats, args.reference), indent=2))
    return 0


def _checkin_bench(args: argparse.Namespace) -> int:
    from firmware.tools import checkin_bench

    if args.repeats < 1:
        raise ConfigError("--repeats must be at least 1", "e.g. --repeats 3")
    folder = args.images or bench.DEFAULT_IMAGES
    names = ("obama", "obama2", "obama3")
    if not all((folder / f"{n}.jpg").is_file() for n in names):
        raise VerifyError(f"no sample photos in {folder}", "pass --images DIR with obama.jpg, "
                          "obama2.jpg and obama3.jpg (`make test` fetches them)")
    models = args.models or Config().models_dir
    photos = [load_rgb(folder / f"{n}.jpg") for n in names]
    print(json.dumps(checkin_bench.run(models, photos, args.repeats), indent=2))
    return 0


def _liveness_eval(args: argparse.Namespace) -> int:
    from firmware.tools import liveness_eval

    if args.trials < 1:
        raise ConfigError("--trials must be at least 1", "e.g. --trials 200")
    rows = liveness_eval.evaluate(args.trials)
    if args.json:
        for row in rows:
            print(json.dumps(row.as_dict()))
        return 0
    print(f"{'kind':<10} {'presentation':<20} {'noise px':>8} {'trials':>6}  rate")
    for row in rows:
        metric = "BPCER" if row.kind == "bona_fide" else "APCER"
        print(f"{row.kind:<10} {row.name:<20} {row.noise_px:>8.1f} {row.trials:>6}  "
              f"{metric} {100 * row.error_rate:.1f} %")
    print("synthetic landmark sequences only: real figures need captures of live people "
          "and attack instruments on a unit")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m firmware.cli.face ...``: the face commands alone, without the daemon's."""
    from firmware import cli  # the shared error handling and logging set-up

    parser = argparse.ArgumentParser(prog="fieldcheck-device-face")
    sub = parser.add_subparsers(dest="command", required=True)
    register(sub)
    args = parser.parse_args(["face", *(argv if argv is not None else sys.argv[1:])])
    logging.basicConfig(level=logging.WARNING)
    return cli.guarded(lambda: int(args.func(args)), "fieldcheck-device face")


if __name__ == "__main__":
    sys.exit(main())
