"""The gate's face pipeline: camera -> detect -> encode -> match -> decide.

The models, the gallery, enrollment and the pure face decisions are the ``faces``
package, shared with the hub; what only a gate does is here:

- ``camera``: OpenCV capture on its own thread, and a folder/video source.
- ``pipeline``: one frame in, identified faces out (models + gallery + decisions).
- ``liveness``: the subject's landmarks over its approach, for ``face.liveness``
  (the decisions themselves are :mod:`faces.liveness`), and whole videos for
  ``smartschool faces liveness``.
- ``snapshots``: unknown-face crops, off unless a gate opts in, with retention.
- ``keys``: the gallery key, from the environment or a systemd credential.

Privacy (Decree 13/2023/ND-CP treats biometric data as sensitive personal data):
nothing here stores or sends a face image unless a gate enables snapshots, and
the gallery holds encodings of consented persons only, encrypted on disk.
"""
