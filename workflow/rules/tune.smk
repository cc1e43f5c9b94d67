# Tuning: trial k of a tuned (target, model) is one job, so a cluster runs the trials in
# parallel; a selection job per pair picks the setting every seed's final model trains with.
# With tuning.trials 0 (the default) and no per-model override, no rule here has a job.


rule tune_trial:
    input:
        target=get_first_seed_target,
    output:
        "results/tuning/{target}/{model}/trial{trial}/trial.h5",
    log:
        "logs/tuning/{target}/{model}/trial{trial}.log",
    benchmark:
        "benchmarks/workflow/tune_trial/{target}/{model}/trial{trial}.tsv"
    conda:
        "../envs/qgenflow.yaml"
    threads: 1
    resources:
        mem_mb=get_train_mem_mb,
        runtime=get_train_runtime,
        gpu=get_train_gpu,
    params:
        code=get_code("tune"),
        expect=get_expected_inputs,
        seed=get_first_seed,
        spec=get_trial_params,
    script:
        "../scripts/tune_trial.py"


rule select_tuning:
    input:
        trials=get_trial_files,
    output:
        "results/tuning/{target}/{model}/tuning.h5",
    log:
        "logs/tuning/{target}/{model}/select.log",
    conda:
        "../envs/qgenflow.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        code=get_code("tune"),
        expect=get_expected_inputs,
        spec=get_selection_params,
    script:
        "../scripts/select_tuning.py"
