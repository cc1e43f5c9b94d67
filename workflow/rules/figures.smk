# One rule per figure of qgenflow.catalog.FIGURES; all run workflow/scripts/plot_figure.py,
# and common.smk gives each its inputs, labels and options from its registry entry.
for _figure in FIGURES:

    rule:
        name:
            f"plot_{_figure}"
        input:
            unpack(figure_inputs(_figure)),
        output:
            get_figure_outputs(_figure),
        log:
            get_figure_log(_figure),
        conda:
            "../envs/qgenflow.yaml"
        threads: 1
        resources:
            mem_mb=1500,
            runtime=10,
        params:
            code=get_code("figures"),
            expect=get_expected_inputs,
            figure=_figure,
            labels=figure_labels(_figure),
            options=figure_options(_figure),
        script:
            "../scripts/plot_figure.py"


rule publish:
    input:
        unpack(get_publish_inputs),
    output:
        publish_outputs(),
    log:
        "logs/publish.log",
    conda:
        "../envs/qgenflow.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        code=get_code("publish"),
        expect=get_expected_inputs,
        spec=get_publish_params,
    script:
        "../scripts/publish.py"
