rule plot_training:
    input:
        models=get_model_files,
        sources=get_sources("figures"),
    output:
        get_figure_outputs("training"),
    params:
        labels=get_model_labels,
    log:
        "logs/figures/{target}_training.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/plot_training.py"


rule plot_distribution:
    input:
        target=get_first_seed_target,
        models=get_model_files,
        sources=get_sources("figures"),
    output:
        get_figure_outputs("distribution"),
    params:
        labels=get_model_labels,
        spec=get_figure_params,
    log:
        "logs/figures/{target}_distribution.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/plot_distribution.py"
