"""PyTorch peer of the sac bench: an SB3-equivalent SAC (sac/sac.py's train step: squashed Gaussian actor with
[256, 256] ReLU trunk, mu and log_std heads, log_std clamped to [-20, 2]; two [256, 256] critics with Polyak
targets; automatic temperature; Adam for each part) on Pendulum-v1 (the same equations, in NumPy), one
gradient step per environment step, batch 256, one thread. Timed inside Python: blocks of environment steps
(action selection, env step, replay insert, sampling, update) after warm-up, wall and CPU time. Prints one JSON line."""
import json, math, sys, time
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

cfg = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
block, repeats, batch = cfg.get('block', 20), cfg.get('repeats', 5), cfg.get('batch', 256)
torch.set_num_threads(1)
torch.manual_seed(0)
rng = np.random.default_rng(0)


class Pendulum:
    def reset(self):
        self.th, self.thdot, self.t = rng.uniform(-math.pi, math.pi), rng.uniform(-1, 1), 0
        return self.obs()

    def obs(self):
        return np.array([math.cos(self.th), math.sin(self.th), self.thdot], dtype=np.float32)

    def step(self, u):
        u = float(np.clip(u, -2.0, 2.0)[0])
        cost = (((self.th + math.pi) % (2 * math.pi)) - math.pi) ** 2 + 0.1 * self.thdot ** 2 + 0.001 * u ** 2
        self.thdot = float(np.clip(self.thdot + (15.0 * math.sin(self.th) + 3.0 * u) * 0.05, -8, 8))
        self.th += self.thdot * 0.05
        self.t += 1
        return self.obs(), -cost, False, self.t >= 200


def mlp(i, o):
    return nn.Sequential(nn.Linear(i, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, o))


class Actor(nn.Module):
    def __init__(self):
        super().__init__()
        self.latent = nn.Sequential(nn.Linear(3, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU())
        self.mu, self.log_std = nn.Linear(256, 1), nn.Linear(256, 1)

    def sample(self, obs):
        h = self.latent(obs)
        mu, log_std = self.mu(h), torch.clamp(self.log_std(h), -20, 2)
        std = log_std.exp()
        u = mu + std * torch.randn_like(mu)
        a = torch.tanh(u)
        logp = (-0.5 * ((u - mu) / std) ** 2 - log_std - 0.5 * math.log(2 * math.pi)).sum(1, keepdim=True)
        logp = logp - torch.log(1 - a ** 2 + 1e-6).sum(1, keepdim=True)
        return a, logp


actor = Actor()
critics, targets = [mlp(4, 1), mlp(4, 1)], [mlp(4, 1), mlp(4, 1)]
for c, t in zip(critics, targets):
    t.load_state_dict(c.state_dict())
    t.requires_grad_(False)
log_alpha = torch.zeros(1, requires_grad=True)
lr = 3e-4
opt_actor = torch.optim.Adam(actor.parameters(), lr=lr)
opt_critic = torch.optim.Adam([p for c in critics for p in c.parameters()], lr=lr)
opt_alpha = torch.optim.Adam([log_alpha], lr=lr)
target_entropy, gamma, tau = -1.0, 0.99, 0.005
N = 100_000
buf_o, buf_a = np.zeros((N, 3), np.float32), np.zeros((N, 1), np.float32)
buf_r, buf_o2, buf_d = np.zeros((N, 1), np.float32), np.zeros((N, 3), np.float32), np.zeros((N, 1), np.float32)
size = 0


def q(nets, o, a):
    x = torch.cat([o, a], 1)
    return [n(x) for n in nets]


def train_step():
    idx = rng.integers(0, size, batch)
    o, a, r = torch.from_numpy(buf_o[idx]), torch.from_numpy(buf_a[idx]), torch.from_numpy(buf_r[idx])
    o2, d = torch.from_numpy(buf_o2[idx]), torch.from_numpy(buf_d[idx])
    a_pi, logp = actor.sample(o)
    alpha = log_alpha.detach().exp()
    alpha_loss = -(log_alpha * (logp + target_entropy).detach()).mean()
    opt_alpha.zero_grad(); alpha_loss.backward(); opt_alpha.step()
    with torch.no_grad():
        a2, logp2 = actor.sample(o2)
        q_next = torch.min(*q(targets, o2, a2)) - alpha * logp2
        y = r + (1 - d) * gamma * q_next
    critic_loss = 0.5 * sum(F.mse_loss(qi, y) for qi in q(critics, o, a))
    opt_critic.zero_grad(); critic_loss.backward(); opt_critic.step()
    actor_loss = (alpha * logp - torch.min(*q(critics, o, a_pi))).mean()
    opt_actor.zero_grad(); actor_loss.backward(); opt_actor.step()
    with torch.no_grad():
        for c, t in zip(critics, targets):
            for p, tp in zip(c.parameters(), t.parameters()):
                tp.mul_(1 - tau).add_(p, alpha=tau)


env = Pendulum()
obs = env.reset()
steps = 0


def env_steps(n):
    global obs, size, steps
    for _ in range(n):
        if steps < 100:
            act = rng.uniform(-1, 1, 1).astype(np.float32)
        else:
            with torch.no_grad():
                act = actor.sample(torch.from_numpy(obs)[None])[0][0].numpy()
        o2, r, term, trunc = env.step(2.0 * act)
        buf_o[size], buf_a[size], buf_r[size], buf_o2[size], buf_d[size] = obs, act, r, o2, float(term)
        size += 1
        steps += 1
        obs = env.reset() if term or trunc else o2
        if steps > 100:
            train_step()


env_steps(100 + 2 * block)  # warm-up: learning starts, a few updates
times, cpu = [], []
for _ in range(repeats):
    t0, c0 = time.perf_counter(), time.process_time()
    env_steps(block)
    times.append((time.perf_counter() - t0) * 1000 / block)
    cpu.append((time.process_time() - c0) * 1000 / block)  # CPU time of this process: robust to a shared machine
times.sort()
cpu.sort()
print(json.dumps({'torch': torch.__version__, 'threads': torch.get_num_threads(), 'msPerStep': times[len(times) // 2],
                  'minMsPerStep': times[0], 'cpuMsPerStep': cpu[len(cpu) // 2], 'minCpuMsPerStep': cpu[0],
                  'runs': repeats}))
