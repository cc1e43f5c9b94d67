rule deploy_model:
    input:
        target=get_first_seed_target,
        model=get_deploy_model,
    output:
        "results/deploy/{target}/{model}/{device}/deploy.h5",
    log:
        "logs/deploy/{target}/{model}/{device}.log",
    conda:
        "../envs/qgenflow.yaml"
    threads: 1
    resources:
        mem_mb=get_eval_mem_mb,
        runtime=30,
    params:
        code=get_code("deploy"),
        expect=get_expected_inputs,
        spec=get_deploy_params,
        seed=get_first_seed,
    script:
        "../scripts/deploy_model.py"
