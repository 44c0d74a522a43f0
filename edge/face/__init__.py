"""The gate's face pipeline: camera -> detect -> encode -> match -> decide.

Modules, from the pure to the heavy:

- ``decision``: tolerance, margin, 1:1 verification, agreement over frames. Pure.
- ``gallery``: the school's encodings as one float32 matrix; encrypted at rest.
- ``snapshots``: unknown-face crops, off unless a gate opts in, with retention.
- ``models``: the dlib models (detector, 5-point landmarks, encoder).
- ``pipeline`` / ``enroll``: models + gallery + decisions.
- ``camera``: OpenCV capture on its own thread, and a folder/video source.
- ``cli``: ``smartschool faces ...``.

Privacy (Decree 13/2023/ND-CP treats biometric data as sensitive personal data):
nothing here stores or sends a face image unless a gate enables snapshots, and
the gallery holds encodings of consented persons only, encrypted on disk.
"""
