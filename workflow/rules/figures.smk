rule plot_training:
    input:
        models=get_model_files,
        sources=get_sources("figures"),
    output:
        get_figure_outputs("training"),
    log:
        "logs/figures/{target}_training.log",
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        labels=get_model_labels,
    script:
        "../scripts/plot_training.py"


rule plot_distribution:
    input:
        target=get_first_seed_target,
        models=get_model_files,
        sources=get_sources("figures"),
    output:
        get_figure_outputs("distribution"),
    log:
        "logs/figures/{target}_distribution.log",
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        labels=get_model_labels,
        spec=get_figure_params,
    script:
        "../scripts/plot_distribution.py"
