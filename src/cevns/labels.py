"""Display labels of parameter names: LaTeX (matplotlib mathtext, getdist) and HTML (report pages).

Handled names (anything else falls back to the plain name):

* NSI couplings ``eps_<quark>_<pair>``, e.g. ``eps_u_ee`` -> ``$\\varepsilon^{u}_{ee}$``,
  ``eps_d_mutau`` -> ``$\\varepsilon^{d}_{\\mu\\tau}$``;
* effective matter NSI ``eff_eps_<pair>`` -> ``$\\varepsilon_{ee}$``;
* nuisance normalizations ``norm_bkg_<experiment>`` -> ``$N^{\\rm bkg}_{\\rm <experiment>}$`` and
  ``norm_<source>_<component>`` -> ``$N^{\\rm <source>}_{\\rm <component>}$`` with flavor tokens
  (``nu_mu``, ``nubar_e``, ...) typeset as neutrinos.

:func:`register_label` adds or overrides a label (e.g. for new model parameters).
"""

from __future__ import annotations

import html
import re

#: Lepton flavor tokens -> (LaTeX, HTML).
_LEPTONS = {"e": ("e", "e"), "mu": (r"\mu", "&mu;"), "tau": (r"\tau", "&tau;")}
_PAIR = re.compile(r"^(e|mu|tau)(e|mu|tau)$")
_NSI = re.compile(r"^eps_([ud])_([a-z]+)$")
_EFF = re.compile(r"^eff_eps_([a-z]+)$")
_FLAVOR = re.compile(r"(?<![a-z])(nubar|nu)_(e|mu|tau)(?![a-z])")

#: Labels registered at run time: name -> (LaTeX without $, HTML).
_REGISTERED: dict[str, tuple[str, str]] = {}


def register_label(name: str, latex: str, html_text: str | None = None) -> None:
    """Use ``latex`` (math-mode content, without $) and ``html_text`` for ``name`` from now on."""
    _REGISTERED[name] = (latex.strip("$"), html_text if html_text is not None else html.escape(name))


def _pair(pair: str, kind: int) -> str | None:
    match = _PAIR.match(pair)
    if match is None:
        return None
    return "".join(_LEPTONS[token][kind] for token in match.groups())


def _text_latex(text: str) -> str:
    """Words of a name as upright math text; flavor tokens as neutrinos."""
    parts, last = [], 0
    for match in _FLAVOR.finditer(text):
        if match.start() > last:
            parts.append(_words_latex(text[last:match.start()]))
        bar = r"\bar\nu" if match.group(1) == "nubar" else r"\nu"
        parts.append(rf"{bar}_{{{_LEPTONS[match.group(2)][0]}}}")
        last = match.end()
    if last < len(text):
        parts.append(_words_latex(text[last:]))
    return r"\,".join(p for p in parts if p)


def _words_latex(text: str) -> str:
    """Upright words; a hyphen as text (in math mode it would be a spaced minus sign)."""
    words = [r"}\text{-}\mathrm{".join(w.split("-")) for w in text.split("_") if w]
    return r"\mathrm{" + r"\,".join(words) + "}" if words else ""


def _text_html(text: str) -> str:
    def flavor(match: re.Match) -> str:
        bar = "&nu;&#772;" if match.group(1) == "nubar" else "&nu;"  # combining overline
        return f"{bar}<sub>{_LEPTONS[match.group(2)][1]}</sub>"

    escaped = html.escape(text)
    return " ".join(w for w in _FLAVOR.sub(flavor, escaped).split("_") if w)


def _parse(name: str, style: int) -> tuple[str, str, str] | None:
    """The pattern of a parameter name: ("nsi", quark, flavor pair), ("eff", flavor pair, ""), ("bkg", what, "")
    or ("norm", source, component); the flavor pair rendered in ``style`` (0 LaTeX, 1 HTML). None: no pattern."""
    match = _NSI.match(name)
    if match and (pair := _pair(match.group(2), style)) is not None:
        return "nsi", match.group(1), pair
    match = _EFF.match(name)
    if match and (pair := _pair(match.group(1), style)) is not None:
        return "eff", pair, ""
    if name.startswith("norm_bkg_") and len(name) > len("norm_bkg_"):
        return "bkg", name.removeprefix("norm_bkg_"), ""
    if name.startswith("norm_"):
        source, _, component = name.removeprefix("norm_").partition("_")
        if source and component:
            return "norm", source, component
    return None


def _latex_body(name: str) -> str | None:
    """Math-mode LaTeX of a known name, or None."""
    if name in _REGISTERED:
        return _REGISTERED[name][0]
    parsed = _parse(name, 0)
    if parsed is None:
        return None
    kind, a, b = parsed
    return {"nsi": lambda: rf"\varepsilon^{{{a}}}_{{{b}}}", "eff": lambda: rf"\varepsilon_{{{a}}}",
            "bkg": lambda: rf"N^{{\rm bkg}}_{{{_text_latex(a)}}}",
            "norm": lambda: rf"N^{{{_words_latex(a)}}}_{{{_text_latex(b)}}}"}[kind]()


def latex_label(name: str, math: bool = True) -> str:
    """LaTeX label of a parameter name: ``eps_u_ee`` -> ``$\\varepsilon^{u}_{ee}$``.

    ``math=False`` gives the math-mode content without the $ delimiters (getdist's
    ``.paramnames`` convention). Unknown names: the plain name (``math=False``: as upright
    math text, underscores escaped).
    """
    body = _latex_body(name)
    if body is None:
        return name if math else r"\mathrm{" + name.replace("_", r"\_") + "}"
    return f"${body}$" if math else body


def html_label(name: str) -> str:
    """HTML label of a parameter name: ``eps_u_emu`` -> ``&epsilon;<sup>u</sup><sub>e&mu;</sub>``."""
    if name in _REGISTERED:
        return _REGISTERED[name][1]
    parsed = _parse(name, 1)
    if parsed is None:
        return html.escape(name)
    kind, a, b = parsed
    return {"nsi": lambda: f"&epsilon;<sup>{a}</sup><sub>{b}</sub>", "eff": lambda: f"&epsilon;<sub>{a}</sub>",
            "bkg": lambda: f"N<sup>bkg</sup><sub>{_text_html(a)}</sub>",
            "norm": lambda: f"N<sup>{html.escape(a)}</sup><sub>{_text_html(b)}</sub>"}[kind]()


#: The old name in cevns.fit (kept so that callers of ``coupling_latex`` can switch imports only).
coupling_latex = latex_label

__all__ = ["coupling_latex", "html_label", "latex_label", "register_label"]
