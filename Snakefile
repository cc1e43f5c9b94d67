# qgenflow: see README.md. The workflow lives in workflow/Snakefile.
include: "workflow/Snakefile"


# default_target in an included file is reset by Snakemake (snakemake#2773), so the
# root file names the default target itself.
rule default:
    default_target: True
    input:
        rules.all.input,
