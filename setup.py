"""The one compiled part: headcheck/_hamming.c, loaded with ctypes (headcheck/native.py) where it
was built: a Hamming range scan for headcheck/index.py where the CPU has AVX-512 VPOPCNTDQ (faiss
answers otherwise, with the same results) and ORB descriptor matching for headcheck/verify.py
(OpenCV otherwise, the same matches). ``optional``: a machine without a C compiler installs
headcheck without it."""

from setuptools import Extension, setup

setup(ext_modules=[Extension("headcheck._hamming", ["headcheck/_hamming.c"],
                             extra_compile_args=["-O3"], optional=True)])
