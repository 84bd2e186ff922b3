"""The one image package: ``decode`` reads any photo into RGB (EXIF, every mode, HEIC/AVIF, bomb guard, the
one extension list); ``convert`` turns arrays and tensors into each other, grids, display sizes and PNG bytes.
"""
