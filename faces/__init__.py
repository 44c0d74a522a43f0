"""Face recognition shared by gates and the hub: the dlib models, image loading, the
encrypted gallery, enrollment and the pure face decisions.

Privacy (Decree 13/2023/ND-CP treats biometric data as sensitive personal data):
nothing here stores or sends a face image; the gallery holds encodings of consented
persons only, encrypted on disk.
"""
