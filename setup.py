"""The one compiled part: headcheck/_hamming.c, a Hamming range scan that headcheck/index.py loads
with ctypes where it was built and the CPU has AVX-512 VPOPCNTDQ (faiss answers otherwise, with the
same results). ``optional``: a machine without a C compiler installs headcheck without it."""

from setuptools import Extension, setup

setup(ext_modules=[Extension("headcheck._hamming", ["headcheck/_hamming.c"],
                             extra_compile_args=["-O3"], optional=True)])
