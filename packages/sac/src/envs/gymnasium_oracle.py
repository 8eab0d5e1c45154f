"""Oracle for the env tests: runs Gymnasium's own env (through gymnasium.make, so with its TimeLimit) from a given
state under given float32 actions. Reads JSON {env, state, actions} from stdin; prints per-step observation,
reward, terminated, truncated as JSON. The policy 'pump' (MountainCar) picks sign(velocity) from the Gymnasium
state itself, so an episode reaches the goal."""
import json, sys
import numpy as np
import gymnasium as gym

job = json.load(sys.stdin)
env = gym.make(job['env'])
env.reset(seed=0)
env.unwrapped.state = np.array(job['state'], dtype=np.float64)
out = []
for t in range(job['steps']):
    if job.get('policy') == 'pump':
        a = np.array([1.0 if env.unwrapped.state[1] >= 0 else -1.0], dtype=np.float32)
    else:
        a = np.array([job['actions'][t]], dtype=np.float32)
    obs, reward, terminated, truncated, _ = env.step(a)
    out.append({'action': float(a[0]), 'observation': [float(x) for x in obs], 'reward': float(reward),
                'terminated': bool(terminated), 'truncated': bool(truncated)})
    if terminated or truncated:
        break
print(json.dumps({'numpy': np.__version__, 'gymnasium': gym.__version__, 'steps': out}))
