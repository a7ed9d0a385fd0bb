"""Einstein summation, whose backward is again einsum.

For z = einsum("s_1,...,s_n->o", x_1, ..., x_n), the gradient of operand k is the sum of
dz times every other operand over the letters that are not x_k's:

    dx_k = einsum("o,s_1,..(all but s_k)..,s_n->s_k", dz, x_1, .., x_n)

with two refinements: a letter that appears only in s_k (summed away in the forward pass)
is broadcast back (x_k's entries each contributed once to the sum), and a letter repeated
in s_k (a diagonal, as in "ii->i") receives the gradient on that diagonal only.
"""

from __future__ import annotations

from ..autograd import Function, Tensor
from ..backend import array_module

_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def parse_equation(equation: str, shapes) -> tuple[list[str], str]:
    """Input subscripts and output subscript, with "..." written out as letters and the
    implicit output (letters used once, in alphabetical order) made explicit."""
    equation = equation.replace(" ", "")
    inputs, arrow, output = equation.partition("->")
    terms = inputs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"einsum: {equation!r} names {len(terms)} operands, "
                         f"got {len(shapes)}")
    unused = [c for c in _LETTERS if c not in equation]
    explicit = [len(t.replace("...", "")) for t in terms]
    longest = max([len(s) - n for t, s, n in zip(terms, shapes, explicit, strict=True)
                   if "..." in t], default=0)
    for i, (term, shape) in enumerate(zip(terms, shapes, strict=True)):
        if not all(c in _LETTERS for c in term.replace("...", "")):
            raise ValueError(f"einsum: subscripts must be letters, got {term!r}")
        if "..." in term:  # "..." dims align from the right, as in NumPy
            count = len(shape) - explicit[i]
            term = term.replace("...", "".join(unused[longest - count:longest]))
        if len(term) != len(shape):
            raise ValueError(f"einsum: operand {i} has {len(shape)} dims, "
                             f"subscripts {term!r} name {len(term)}")
        terms[i] = term
    ellipsis = "".join(unused[:longest])
    if not arrow:
        counts = "".join(terms)
        output = ellipsis + "".join(sorted(c for c in set(counts)
                                           if counts.count(c) == 1 and c not in ellipsis))
    output = output.replace("...", ellipsis)
    if any(c not in "".join(terms) for c in output) or len(set(output)) != len(output):
        raise ValueError(f"einsum: output subscripts {output!r} must be distinct letters of "
                         f"the inputs")
    return terms, output


class Einsum(Function):
    """Forward: z = einsum("s_1,...,s_n->o", x_1, ..., x_n).

    Backward: dx_k = einsum("o,(s_j for j != k)->s_k", dz, (x_j for j != k)), with s_k's
    letters absent from o and every other s_j broadcast back, and a repeated letter of s_k
    filled on its diagonal only.
    """

    def forward(self, *operands, terms, output):
        xp = array_module(*operands)
        self.operands, self.terms, self.output = operands, terms, output
        return xp.einsum(",".join(terms) + "->" + output, *operands)

    def backward(self, grad_out):
        grads = []
        for k, (needs, term, x) in enumerate(zip(self.needs_input_grad, self.terms,
                                                 self.operands, strict=True)):
            grads.append(self._operand_grad(k, term, x, grad_out) if needs else None)
        return tuple(grads)

    def _operand_grad(self, k, term, x, grad_out):
        xp = array_module(x)
        others = [(t, o) for j, (t, o) in enumerate(zip(self.terms, self.operands,
                                                        strict=True)) if j != k]
        letters = "".join(dict.fromkeys(term))  # distinct, in order
        size = {c: n for c, n in zip(term, x.shape, strict=True)}
        seen = self.output + "".join(t for t, _ in others)
        kept = "".join(c for c in letters if c in seen)
        equation = ",".join([self.output] + [t for t, _ in others]) + "->" + kept
        grad = xp.einsum(equation, grad_out, *(o for _, o in others))
        # letters summed away in x_k alone: each entry contributed once, so broadcast back
        grad = xp.broadcast_to(grad.reshape([size[c] if c in kept else 1 for c in letters]),
                               [size[c] for c in letters])
        if letters == term:
            return grad.copy()  # a C-ordered copy of the broadcast view, 0-d stays 0-d
        # a repeated letter addresses a diagonal: put the gradient there, 0 elsewhere
        full = xp.zeros(x.shape, dtype=grad.dtype)
        grid = xp.indices(grad.shape, sparse=True)
        full[tuple(grid[letters.index(c)] for c in term)] = grad
        return full


def einsum(equation: str, *operands) -> Tensor:
    """Einstein summation over tensors, e.g. "ij,jk->ik" (matmul), "bij,bjk->bik",
    "ii->" (trace), "i,j->ij" (outer), "...ij->...ji"; operands may also come as one list.

    NOTE: unlike PyTorch, dims named by "..." do not broadcast a size 1 against a larger
    size; every operand's "..." dims must agree.

    Examples
    --------
    >>> F.einsum('ij,jk->ik', vg.ones(2, 3), vg.ones(3, 4)).shape
    (2, 4)
    >>> F.einsum('ii', vg.tensor([[1.0, 2.0], [3.0, 4.0]]))
    Tensor(5.)
    """
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    shapes = [tuple(array_module(o).shape(o)) if not hasattr(o, "shape") else tuple(o.shape)
              for o in operands]
    terms, output = parse_equation(equation, shapes)
    for term, shape in zip(terms, shapes, strict=True):
        for c, n in zip(term, shape, strict=True):
            other = next((s[t.index(c)] for t, s in zip(terms, shapes, strict=True)
                          if c in t), n)
            if other != n:
                raise ValueError(f"einsum: subscript {c!r} has sizes {other} and {n}")
    return Einsum.apply(*operands, terms=terms, output=output)
