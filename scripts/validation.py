"""Plausibility figures for docs/validation.md.

Reads nqp's own outputs (`nqp compute` scores and `nqp analyse` tables) and the model-based
benchmark of ../shared/data/nqpf-benchmark-ruby, and prints the numbers the report quotes:
group means, leaders, national mean by year, Dagum shares, Moran's I, Spearman rho per year,
Tibet's rank, and the skewness of every default indicator.

    nqp compute --data data/datasets/cn-provinces/panel.csv --framework data/frameworks/nqp-triad.toml \
        --out /tmp/v-full.csv
    nqp analyse --scores /tmp/v-full.csv --out-dir /tmp/va-full
    python scripts/validation.py /tmp/v-full.csv /tmp/va-full ../shared/data

Needs pandas and scipy (not needed by the test suite).
"""
import sys

import pandas as pd
from scipy.stats import skew, spearmanr

scores_path, analyse_dir, shared = sys.argv[1:4]
s = pd.read_csv(scores_path)
regions = pd.read_csv("data/regions/cn-provinces.csv")
s = s.merge(regions[["code", "group"]], left_on="region", right_on="code")

print("## group means by year")
print(s.pivot_table(index="year", columns="group", values="score").round(2).to_string())
print("\n## top 6 per year")
for y, g in s.groupby("year"):
    print(y, ", ".join(g.sort_values("score", ascending=False).region.head(6)))
print("\n## national mean by year")
print(s.groupby("year").score.mean().round(2).to_string())
print("\n## Tibet rank by year")
print(s[s.region == "CN-XZ"][["year", "rank", "score"]].to_string(index=False))

d = pd.read_csv(f"{analyse_dir}/dagum.csv")
d = d[d.measure == "score"].copy()
for part in ["within", "between", "transvariation"]:
    d[part + "_share"] = d[part] / d.total
print("\n## Dagum Gini")
print(d[["year", "total", "within_share", "between_share", "transvariation_share"]].round(3).to_string(index=False))
m = pd.read_csv(f"{analyse_dir}/moran.csv")
m = m[m.measure == "score"] if "measure" in m else m
print("\n## Moran's I")
print(m[["year", "i", "z_norm", "p_perm"]].round(3).to_string(index=False))

b = pd.read_csv(f"{shared}/nqpf-benchmark-ruby/nqpf_province_2010_2022.csv")
b["gb2"] = (b.region_code // 10000).astype(str)
alias = regions[["code", "aliases"]].copy()
gb = {}
for _, r in alias.iterrows():
    for a in str(r.aliases).split("|"):
        if len(a) == 2 and a.isdigit():
            gb[a] = r.code
b["region"] = b.gb2.map(gb)
j = s.merge(b[["region", "year", "NQPF"]], on=["region", "year"])
print("\n## Spearman rho vs NQPF benchmark")
for y, g in j.groupby("year"):
    rho, p = spearmanr(g.score, g.NQPF)
    print(y, len(g), round(rho, 3), f"p={p:.3g}")

# The default indicators, derived from the committed panel with the framework's formulas.
import tomllib

fw = tomllib.load(open("data/frameworks/nqp-triad.toml", "rb"))
panel = pd.read_csv("data/datasets/cn-provinces/panel.csv")
wide = panel.pivot_table(index=["region", "year"], columns="indicator", values="value").reset_index()
print("\n## skewness, maximum and correlations of the default indicators (2013–2019)")
for ind in fw["indicator"]:
    wide[ind["id"]] = wide.eval(ind["formula"]) if "formula" in ind else wide[ind["id"]]
ids = [i["id"] for i in fw["indicator"]]
for c in ids:
    v = wide[c].dropna()
    print(f"{c}: skew {skew(v):.2f}, max {wide.loc[wide[c].idxmax(), 'region']}, "
          f"coverage {len(v) / len(wide):.3f}")
corr = wide[ids].corr()
pairs = [(a, b, corr.loc[a, b]) for i, a in enumerate(ids) for b in ids[i + 1:]]
print("strongest |r|:", sorted(pairs, key=lambda t: -abs(t[2]))[:6])
