# For each single-block inner loop of an aarch64 assembly file: its
# function, then how many fmla (and of those, by element), sdot and bfdot
# it has, and how many instructions in all, the branch included.
/^_Z[A-Za-z0-9_]*:/ { fn = substr($1, 1, length($1) - 1); next }
/Inner Loop Header/ { inloop = 1; total = fmla = byel = sdot = bfdot = 0; next }
inloop && /^[.A-Za-z_]/ { inloop = 0 }
inloop && /^\t[a-z]/ {
  total++
  if ($1 == "fmla") { fmla++; if ($0 ~ /\.s\[[0-3]\]/) byel++ }
  if ($1 == "sdot") sdot++
  if ($1 == "bfdot") bfdot++
  if ($1 ~ /^b\./) {
    printf "%s: %d fmla (%d by element), %d sdot, %d bfdot, %d instructions\n",
           fn, fmla, byel, sdot, bfdot, total
    inloop = 0
  }
}
