# One rule per figure; all run workflow/scripts/plot_figure.py, and common.smk gives
# each its inputs, labels and options (see qgenflow.plots.FIGURES for what each draws).
for _figure in (
    "training",
    "distribution",
    "correlations",
    "metrics",
    "corr_r",
    "porter_thomas",
    "qgan",
    "scaling_params",
):

    rule:
        name:
            f"plot_{_figure}"
        input:
            unpack(figure_inputs(_figure)),
        output:
            get_figure_outputs(_figure),
        log:
            f"logs/figures/{{target}}_{_figure}.log",
        conda:
            "../../environment.yml"
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


rule plot_scaling_qubits:
    input:
        unpack(figure_inputs("scaling_qubits")),
    output:
        get_figure_outputs("scaling_qubits"),
    log:
        "logs/figures/scaling_qubits_{sweep}.log",
    conda:
        "../../environment.yml"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=10,
    params:
        code=get_code("figures"),
        expect=get_expected_inputs,
        figure="scaling_qubits",
        labels=figure_labels("scaling_qubits"),
        options=figure_options("scaling_qubits"),
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
        "../../environment.yml"
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
