"""PyTorch peer for the ssd bench: the chunked SSD as `ssd_minimal.py` (state-spaces/mamba) writes it, on one
CPU thread, timed inside Python. Usage: python3 torch_peer.py '{"sizes": [1024], "repeats": 5}'.
Prints one JSON object: {"torch": version, "rows": [{"L", "mode", "medianMs", "runs"}]} (mode fwd / fwdbwd).
"""
import json
import sys
import time

import torch
import torch.nn.functional as F

torch.set_num_threads(1)


def segsum(x):
    """Stable segment sum (ssd_minimal.py): exp(segsum) is the decay matrix, -inf above the diagonal."""
    T = x.size(-1)
    x = x[..., None].expand(*x.shape, T)
    mask = torch.tril(torch.ones(T, T, dtype=torch.bool), diagonal=-1)
    x = x.masked_fill(~mask, 0)
    x_segsum = torch.cumsum(x, dim=-2)
    mask = torch.tril(torch.ones(T, T, dtype=torch.bool), diagonal=0)
    return x_segsum.masked_fill(~mask, -torch.inf)


def ssd_minimal_discrete(X, A, B, C, block_len, initial_states=None):
    """X (b, l, h, p), A (b, l, h), B, C (b, l, h, n), as ssd_minimal.py (einops rearranges as reshapes)."""
    b, l, h, p = X.shape
    n = B.shape[-1]
    c = l // block_len
    X, A, B, C = [t.reshape(b, c, block_len, *t.shape[2:]) for t in (X, A, B, C)]
    A = A.permute(0, 3, 1, 2)  # b h c l
    A_cumsum = torch.cumsum(A, dim=-1)
    L = torch.exp(segsum(A))
    Y_diag = torch.einsum("bclhn,bcshn,bhcls,bcshp->bclhp", C, B, L, X)
    decay_states = torch.exp(A_cumsum[:, :, :, -1:] - A_cumsum)
    states = torch.einsum("bclhn,bhcl,bclhp->bchpn", B, decay_states, X)
    if initial_states is None:
        initial_states = torch.zeros_like(states[:, :1])
    states = torch.cat([initial_states, states], dim=1)
    decay_chunk = torch.exp(segsum(F.pad(A_cumsum[:, :, :, -1], (1, 0))))
    new_states = torch.einsum("bhzc,bchpn->bzhpn", decay_chunk, states)
    states, final_state = new_states[:, :-1], new_states[:, -1]
    state_decay_out = torch.exp(A_cumsum)
    Y_off = torch.einsum("bclhn,bchpn,bhcl->bclhp", C, states, state_decay_out)
    return (Y_diag + Y_off).reshape(b, l, h, p), final_state


def main():
    cfg = json.loads(sys.argv[1])
    H, P, N, Q = cfg.get("H", 8), cfg.get("P", 64), cfg.get("N", 64), cfg.get("chunk", 64)
    repeats = cfg.get("repeats", 5)
    torch.manual_seed(0)
    rows = []
    for L in cfg["sizes"]:
        x = torch.randn(1, L, H, P)
        dt = F.softplus(torch.randn(1, L, H) - 2)
        A = -torch.exp(torch.rand(H) * 2)
        B = torch.randn(1, L, 1, N)
        C = torch.randn(1, L, 1, N)
        D = torch.ones(H)
        dy = torch.randn(1, L, H, P)

        def forward(x, dt, A, B, C, D):
            # the Mamba-2 module's call: X * dt, A * dt, groups expanded to heads, y + D x
            y, final = ssd_minimal_discrete(x * dt[..., None], A * dt, B.expand(-1, -1, H, -1),
                                            C.expand(-1, -1, H, -1), Q)
            return y + x * D[:, None], final

        for mode in ("fwd", "fwdbwd"):
            times = []
            for i in range(repeats + 1):
                leaves = [t.clone().requires_grad_(mode == "fwdbwd") for t in (x, dt, A, B, C, D)]
                start = time.perf_counter()
                if mode == "fwd":
                    with torch.no_grad():
                        forward(*leaves)
                else:
                    y, final = forward(*leaves)
                    torch.autograd.backward([y], [dy])
                if i > 0:  # the first run is warm-up
                    times.append((time.perf_counter() - start) * 1000)
            times.sort()
            rows.append({"L": L, "mode": mode, "medianMs": times[len(times) // 2], "runs": len(times)})
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "rows": rows}))


if __name__ == "__main__":
    main()
