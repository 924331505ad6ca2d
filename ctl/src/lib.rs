//! The control protocol shared by `vigild` and `vigilctl`.
