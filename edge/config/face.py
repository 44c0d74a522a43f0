"""The ``gate.face:`` section of a gate's YAML: camera, thresholds, gallery, snapshots.

Meant to hang under GateConfig as ``face: FaceConfig | None = None``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from core.configbase import StrictModel
from faces.decision import DEFAULT_AGREE, DEFAULT_MARGIN, DEFAULT_TOLERANCE, DEFAULT_WINDOW
from faces.liveness import (
    DEFAULT_BUDGET_S,
    DEFAULT_EYES,
    DEFAULT_NONRIGID,
    DEFAULT_PROMPT_NONRIGID,
    DEFAULT_PROMPT_S,
)


def _resolve(value: Path | None, info: ValidationInfo) -> Path | None:
    # Imported here: edge.config's package __init__ imports the gate section, which
    # will import this module; a top-level import would be circular.
    from edge.config.common import resolve_path

    return resolve_path(value, info)


class CameraConfig(StrictModel):
    source: str = Field(
        default="0",
        description="A USB camera index (0), an RTSP/HTTP URL, a video file, or a folder of "
        "images (simulation)",
    )
    width: int = Field(default=640, ge=160, le=3840, description="Requested frame width")
    height: int = Field(default=480, ge=120, le=2160, description="Requested frame height")
    fps: float = Field(
        default=10.0, gt=0, le=60, description="Frames per second asked of the camera, and "
        "the pace of a simulated source",
    )


class SnapshotConfig(StrictModel):
    enabled: bool = Field(
        default=False,
        description="Keep a crop of each unknown face for review. Off by default: a face "
        "image is sensitive personal data (Decree 13/2023) and needs a purpose and a "
        "retention limit",
    )
    directory: Path | None = Field(
        default=None, description="Where the crops go (mode 0600), relative to this file"
    )
    max_age_hours: int = Field(
        default=72, ge=1, le=720, description="Crops older than this are deleted"
    )
    max_count: int = Field(
        default=500, ge=1, le=100_000, description="Only the newest this many crops are kept"
    )

    @field_validator("directory")
    @classmethod
    def _resolve_directory(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        return _resolve(value, info)

    @model_validator(mode="after")
    def _directory_when_enabled(self) -> SnapshotConfig:
        if self.enabled and self.directory is None:
            raise ValueError("snapshots.enabled needs snapshots.directory")
        return self


class FaceConfig(StrictModel):
    camera: CameraConfig = Field(default_factory=CameraConfig, description="The gate camera")
    gallery_file: Path | None = Field(
        default=None,
        description="The encrypted gallery (from the hub's sync-gallery), relative to this "
        "file; its key comes from SMARTSCHOOL_GALLERY_KEY or the systemd credential gallery_key",
    )
    model: Literal["hog", "cnn"] = Field(
        default="hog", description="Face detector: hog (CPU, fast) or cnn (better at angles, "
        "far slower without a GPU)"
    )
    detect_scale: float = Field(
        default=0.5,
        gt=0.1,
        le=1.0,
        description="Detect on the frame scaled by this; encode at full resolution. HOG "
        "finds faces from about 80 px at the detection scale, so 0.5 needs faces of 160 px "
        "in the frame (camera beside the reader, face about 0.5 m away at 640x480) for a "
        "quarter of the cost of 1.0",
    )
    upsample: int = Field(
        default=0, ge=0, le=2, description="Upsample the detection image this many times "
        "(finds smaller faces, about 4x the cost each)"
    )
    min_face_px: int = Field(
        default=80,
        ge=0,
        le=2000,
        description="Faces narrower than this (frame pixels) are people further back in "
        "the queue, not the one at the gate",
    )
    tolerance: float = Field(
        default=DEFAULT_TOLERANCE,
        ge=0.2,
        le=0.6,
        description="Largest face distance that identifies a person; stricter than "
        "face_recognition's 0.6, which confuses children",
    )
    margin: float = Field(
        default=DEFAULT_MARGIN,
        ge=0.0,
        le=0.4,
        description="The best person must be this much closer than the second best",
    )
    agree: int = Field(
        default=DEFAULT_AGREE, ge=1, le=30, description="Frames that must agree on a person"
    )
    window: int = Field(
        default=DEFAULT_WINDOW, ge=1, le=60, description="... out of this many latest frames"
    )
    snapshots: SnapshotConfig = Field(
        default_factory=SnapshotConfig, description="Unknown-face crops (off by default)"
    )
    liveness: Literal["off", "motion", "blink"] = Field(
        default="off",
        description="Refuse a face that shows no natural motion over its approach "
        "(reason liveness-failed), in every face mode: motion (5-point landmarks, no "
        "licence restriction) or blink (motion, or a blink seen with the 68-point model, "
        "non-commercial licence: needs liveness_68_point_licence_ok). Stops a photo held "
        "still or moved; not a video replay or a mask (README: Liveness)",
    )
    liveness_budget_s: float = Field(
        default=DEFAULT_BUDGET_S,
        ge=0.5,
        le=5.0,
        description="A face not shown live within this many seconds of its approach is "
        "asked to turn its head (liveness_prompt_s), or refused with the prompt off; until "
        "then the gate waits",
    )
    liveness_prompt_s: float = Field(
        default=DEFAULT_PROMPT_S,
        ge=0.0,
        le=5.0,
        description="After the budget, how long a face that showed nothing (a pupil standing "
        "still) has to turn its head, prompted by two short beeps and both lights; only a "
        "clear turn counts then. 0: refuse at the budget",
    )
    liveness_prompt_nonrigid: float = Field(
        default=DEFAULT_PROMPT_NONRIGID,
        ge=0.01,
        le=0.5,
        description="Non-rigid landmark motion that counts as a turn after the prompt; "
        "above the photos' largest over the whole window (bench/liveness.py)",
    )
    liveness_eyes: float = Field(
        default=DEFAULT_EYES,
        ge=0.01,
        le=1.0,
        description="Change of both eye regions (face contrast units) that shows a live face "
        "within the budget; photos reach 0.039 on the set: not to be lowered without "
        "measuring (bench/liveness.py)",
    )
    liveness_nonrigid: float = Field(
        default=DEFAULT_NONRIGID,
        ge=0.01,
        le=0.5,
        description="Non-rigid landmark motion (eye distances) that shows a live head; "
        "measured by bench/liveness.py",
    )
    liveness_68_point_licence_ok: bool = Field(
        default=False,
        description="The operator confirms the deployment may use dlib's 68-point landmark "
        "model, whose training data is licensed for non-commercial use only",
    )

    @field_validator("liveness", mode="before")
    @classmethod
    def _liveness_off(cls, value: object) -> object:
        # YAML 1.1 reads a bare `off` as false: what the operator wrote is "off".
        return "off" if value is False else value

    @field_validator("gallery_file")
    @classmethod
    def _resolve_gallery(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        return _resolve(value, info)

    @model_validator(mode="after")
    def _agree_within_window(self) -> FaceConfig:
        if self.agree > self.window:
            raise ValueError(f"face.agree ({self.agree}) cannot exceed face.window ({self.window})")
        if self.liveness == "blink" and not self.liveness_68_point_licence_ok:
            raise ValueError("face.liveness: blink uses dlib's 68-point landmark model, licensed "
                             "for non-commercial use only; set liveness_68_point_licence_ok: "
                             "true if this deployment may, or use liveness: motion")
        return self
