"""Operations on images: geometry first (the target Grid), data second (lazy)."""
