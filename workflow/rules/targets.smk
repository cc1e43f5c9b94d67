rule make_target:
    input:
        data=get_target_data,
    output:
        "results/targets/{target}/seed{seed}/target.h5",
    log:
        "logs/targets/{target}/seed{seed}.log",
    cache: True
    conda:
        "../envs/qgenflow.yaml"
    threads: 1
    resources:
        mem_mb=get_target_mem_mb,
        runtime=get_target_runtime,
        gpu=get_target_gpu,
    params:
        code=get_code("targets"),
        seed=get_seed,
        spec=get_target_params,
    script:
        "../scripts/make_target.py"
