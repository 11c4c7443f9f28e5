# For each single-block inner loop of an aarch64 assembly file: its
# function, then how many fmla (and of those, by element), sdot and bfdot
# it has, how many instructions in all, the branch included, how many of
# them address the stack (spills and reloads), and how many bfmmla.
/^_Z[A-Za-z0-9_]*:/ { fn = substr($1, 1, length($1) - 1); next }
/Inner Loop Header/ { inloop = 1; total = fmla = byel = sdot = bfdot = stack = mmla = 0; next }
inloop && /^[.A-Za-z_]/ { inloop = 0 }
inloop && /^\t[a-z]/ {
  total++
  if ($1 == "fmla") { fmla++; if ($0 ~ /\.s\[[0-3]\]/) byel++ }
  if ($1 == "sdot") sdot++
  if ($1 == "bfdot") bfdot++
  if ($1 == "bfmmla") mmla++
  if ($0 ~ /\[sp[],]/) stack++
  if ($1 ~ /^b\./) {
    printf "%s: %d fmla (%d by element), %d sdot, %d bfdot, %d instructions, %d on the stack, %d bfmmla\n",
           fn, fmla, byel, sdot, bfdot, total, stack, mmla
    inloop = 0
  }
}
