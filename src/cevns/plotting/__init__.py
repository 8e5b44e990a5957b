"""Figures. Each draws what it is handed (spectra, tables, the posterior summaries of
:mod:`cevns.inference.summaries`) and returns the figure or axes; nothing here estimates a density.

* :mod:`~cevns.plotting.posterior`: triangle plots, overlays, 2-D panels with zoomed insets;
* :mod:`~cevns.plotting.spectra`: recoil spectra and measured releases (``cevns rates --plot``);
* :mod:`~cevns.plotting.degeneracy`: the paper's Fig. 1;
* :mod:`~cevns.plotting.intervals`: credible sets of several fits side by side (measured data);
* :mod:`~cevns.plotting.mediator`: allowed bands of a light mediator in (mass, coupling);
* :mod:`~cevns.plotting.bench`: the task farm's scaling;
* :mod:`~cevns.plotting.validation`: measured releases' fitted counts beside the collaborations';
* :mod:`~cevns.plotting.keys`: the legends every figure carries (levels, SM point, undrawn levels, off-axis marks).
"""

from .bench import task_scaling_figure
from .degeneracy import degeneracy_figure
from .intervals import credible_sets_figure
from .mediator import mediator_limits_figure
from .posterior import INSET_MAX_FRACTION, MAX_INSETS, corner_figure, overlay_figure, plot_credible_region, posterior_panel
from .spectra import nsi_point_text, plot_recoil_spectrum, plot_release_counts, rates_figure
from .validation import validation_figure

__all__ = ["INSET_MAX_FRACTION", "MAX_INSETS", "corner_figure", "credible_sets_figure", "degeneracy_figure",
           "mediator_limits_figure", "nsi_point_text", "overlay_figure", "plot_credible_region", "plot_recoil_spectrum",
           "plot_release_counts", "posterior_panel", "rates_figure", "task_scaling_figure", "validation_figure"]
