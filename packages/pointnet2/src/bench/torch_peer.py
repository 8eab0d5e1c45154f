"""PyTorch peer for the pointnet2 bench: the pure-PyTorch ops a CPU user runs (yanx27/Pointnet_Pointnet2_pytorch:
FPS as a Python loop of tensor ops, ball query by sorting distances, grouping by fancy indexing, 3-NN interpolation
by sorting distances) and its SSG classifier, on one CPU thread, timed inside Python. FPS starts at index 0 (yanx27
draws a random start) so it does the same work as ours.
Usage: python3 torch_peer.py '{"B": 16, "N": 1024, "repeats": 3, "model": true}'
Prints one JSON object: {"torch": version, "threads": 1, "rows": [{"op", "medianMs", "runs"}]}.
"""
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(1)
torch.manual_seed(0)


def square_distance(src, dst):
    dist = -2 * torch.matmul(src, dst.permute(0, 2, 1))
    dist += torch.sum(src ** 2, -1).view(src.shape[0], src.shape[1], 1)
    dist += torch.sum(dst ** 2, -1).view(dst.shape[0], 1, dst.shape[1])
    return dist


def index_points(points, idx):
    B = points.shape[0]
    view_shape = list(idx.shape)
    view_shape[1:] = [1] * (len(view_shape) - 1)
    repeat_shape = list(idx.shape)
    repeat_shape[0] = 1
    batch_indices = torch.arange(B, dtype=torch.long).view(view_shape).repeat(repeat_shape)
    return points[batch_indices, idx, :]


def farthest_point_sample(xyz, npoint):
    B, N, C = xyz.shape
    centroids = torch.zeros(B, npoint, dtype=torch.long)
    distance = torch.ones(B, N) * 1e10
    farthest = torch.zeros(B, dtype=torch.long)
    batch_indices = torch.arange(B, dtype=torch.long)
    for i in range(npoint):
        centroids[:, i] = farthest
        centroid = xyz[batch_indices, farthest, :].view(B, 1, 3)
        dist = torch.sum((xyz - centroid) ** 2, -1)
        mask = dist < distance
        distance[mask] = dist[mask]
        farthest = torch.max(distance, -1)[1]
    return centroids


def query_ball_point(radius, nsample, xyz, new_xyz):
    B, N, C = xyz.shape
    _, S, _ = new_xyz.shape
    group_idx = torch.arange(N, dtype=torch.long).view(1, 1, N).repeat([B, S, 1])
    sqrdists = square_distance(new_xyz, xyz)
    group_idx[sqrdists > radius ** 2] = N
    group_idx = group_idx.sort(dim=-1)[0][:, :, :nsample]
    group_first = group_idx[:, :, 0].view(B, S, 1).repeat([1, 1, nsample])
    mask = group_idx == N
    group_idx[mask] = group_first[mask]
    return group_idx


def three_interpolate(xyz1, xyz2, points2):
    B, N, _ = xyz1.shape
    dists = square_distance(xyz1, xyz2)
    dists, idx = dists.sort(dim=-1)
    dists, idx = dists[:, :, :3], idx[:, :, :3]
    dist_recip = 1.0 / (dists + 1e-8)
    weight = dist_recip / torch.sum(dist_recip, dim=2, keepdim=True)
    return torch.sum(index_points(points2, idx) * weight.view(B, N, 3, 1), dim=2)


class SetAbstraction(nn.Module):
    def __init__(self, npoint, radius, nsample, in_channel, mlp, group_all):
        super().__init__()
        self.npoint, self.radius, self.nsample, self.group_all = npoint, radius, nsample, group_all
        self.convs = nn.ModuleList()
        self.bns = nn.ModuleList()
        last = in_channel
        for out in mlp:
            self.convs.append(nn.Conv2d(last, out, 1))
            self.bns.append(nn.BatchNorm2d(out))
            last = out

    def forward(self, xyz, points):
        if self.group_all:
            new_xyz = torch.zeros(xyz.shape[0], 1, 3)
            grouped = xyz.view(xyz.shape[0], 1, xyz.shape[1], 3)
            new_points = grouped if points is None else torch.cat([grouped, points.view(points.shape[0], 1, points.shape[1], -1)], -1)
        else:
            fps_idx = farthest_point_sample(xyz, self.npoint)
            new_xyz = index_points(xyz, fps_idx)
            idx = query_ball_point(self.radius, self.nsample, xyz, new_xyz)
            grouped_xyz = index_points(xyz, idx) - new_xyz.view(xyz.shape[0], self.npoint, 1, 3)
            new_points = grouped_xyz if points is None else torch.cat([grouped_xyz, index_points(points, idx)], -1)
        new_points = new_points.permute(0, 3, 2, 1)
        for conv, bn in zip(self.convs, self.bns):
            new_points = F.relu(bn(conv(new_points)))
        return new_xyz, torch.max(new_points, 2)[0].permute(0, 2, 1)


class ClsSSG(nn.Module):
    def __init__(self, k):
        super().__init__()
        self.sa1 = SetAbstraction(512, 0.2, 32, 3, [64, 64, 128], False)
        self.sa2 = SetAbstraction(128, 0.4, 64, 128 + 3, [128, 128, 256], False)
        self.sa3 = SetAbstraction(None, None, None, 256 + 3, [256, 512, 1024], True)
        self.fc1, self.bn1, self.drop1 = nn.Linear(1024, 512), nn.BatchNorm1d(512), nn.Dropout(0.4)
        self.fc2, self.bn2, self.drop2 = nn.Linear(512, 256), nn.BatchNorm1d(256), nn.Dropout(0.4)
        self.fc3 = nn.Linear(256, k)

    def forward(self, xyz):
        l1_xyz, l1 = self.sa1(xyz, None)
        l2_xyz, l2 = self.sa2(l1_xyz, l1)
        _, l3 = self.sa3(l2_xyz, l2)
        x = l3.view(xyz.shape[0], 1024)
        x = self.drop1(F.relu(self.bn1(self.fc1(x))))
        x = self.drop2(F.relu(self.bn2(self.fc2(x))))
        return self.fc3(x)


def timed(fn, repeats):
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return {"medianMs": times[len(times) // 2], "runs": repeats}


def main():
    cfg = json.loads(sys.argv[1])
    B, N, reps = cfg["B"], cfg["N"], cfg["repeats"]
    xyz = torch.rand(B, N, 3) * 2 - 1
    centres = xyz[:, :512]
    feats = torch.rand(B, N, 64)
    idx = query_ball_point(0.2, 32, xyz, centres)
    sparse = xyz[:, :128]
    sparse_feats = torch.rand(B, 128, 64)
    rows = []
    with torch.no_grad():
        rows.append({"op": "farthestPointSample", **timed(lambda: farthest_point_sample(xyz, 512), reps)})
        rows.append({"op": "ballQuery", **timed(lambda: query_ball_point(0.2, 32, xyz, centres), reps)})
        rows.append({"op": "groupPoints", **timed(lambda: index_points(feats, idx), reps)})
        rows.append({"op": "threeNN+threeInterpolate", **timed(lambda: three_interpolate(xyz, sparse, sparse_feats), reps)})
    if cfg.get("model"):
        model = ClsSSG(10)
        opt = torch.optim.Adam(model.parameters(), 1e-3)
        labels = torch.randint(0, 10, (B,))

        def step():
            opt.zero_grad()
            loss = F.cross_entropy(model(xyz), labels)
            loss.backward()
            opt.step()

        model.train()
        rows.append({"op": "SSG train step", **timed(step, max(1, reps // 2))})
        model.eval()
        with torch.no_grad():
            rows.append({"op": "SSG inference", **timed(lambda: model(xyz), max(1, reps // 2))})
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "rows": rows}))


if __name__ == "__main__":
    main()
