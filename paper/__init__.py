"""The paper: one figure style (paper.style), the figures of the study kinds (paper.plots), the list of the
paper's figures and headline numbers (paper.registry) and the build of its figures, numbers and PDF
(paper.build, `statphys paper`: paper.drawing, paper.numbers, paper.formatting, paper.results_tex, paper.pdf)."""
