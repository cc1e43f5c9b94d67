# qgenflow: see README.md. The workflow itself lives in workflow/Snakefile.
include: "workflow/Snakefile"
