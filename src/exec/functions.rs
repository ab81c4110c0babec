//! Scalar function kernels.
