"""The paper: one figure style (paper.style) and the build of its figures and numbers (paper.build, `statphys paper`)."""
